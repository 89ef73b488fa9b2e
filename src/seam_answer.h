/*
 * seam_answer.h — what an answer from Seam means to the worker, whatever
 * was asked: the credentials refused, or one line saying why it failed.
 */
#ifndef ORACODE_SEAM_ANSWER_H
#define ORACODE_SEAM_ANSWER_H

#include "postgres.h"

#include "seam_http.h"

extern bool seam_answer_refuses_credentials(const SeamResponse *resp);
extern void seam_answer_describe_failure(const SeamResponse *resp, char *buf, size_t len);

#endif							/* ORACODE_SEAM_ANSWER_H */
