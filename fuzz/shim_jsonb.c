/*
 * shim_jsonb.c — a Jsonb whose containers read a cJSON tree.
 *
 * slots_from_jsonb takes a Jsonb, and PostgreSQL's jsonb code lives only
 * inside the server binary. So the harness parses the fuzz input with cJSON
 * and hands slots_from_jsonb a Jsonb built here: each container carries the
 * real header word (count and JB_FARRAY / JB_FOBJECT / JB_FSCALAR flags,
 * which slots.c reads through jsonb.h's macros), and the two accessors that
 * slots.c calls — getKeyJsonValueFromContainer and
 * getIthJsonbValueFromContainer — answer from the cJSON node behind it with
 * the same contract as PostgreSQL's (NULL when absent; the last value of a
 * repeated key, since jsonb keeps the last; strings not NUL-terminated;
 * nested containers as jbvBinary). slots.c itself runs unchanged.
 *
 * Not modelled: numbers carry no Numeric (slots.c never reads one; a read
 * would crash on NULL and be reported), and the header's count of an
 * object is its number of distinct keys.
 */
#include "postgres.h"

#include "utils/jsonb.h"

#include "pg_shim.h"

#define SHIM_CONTAINER_MAGIC UINT64CONST(0x6a736f6e6273686d)

/* A container and the cJSON node it stands for; vl_len_ + jc lay out as a Jsonb. */
typedef struct ShimContainer
{
	uint64		magic;
	const cJSON *node;
	int32		vl_len_;
	JsonbContainer jc;			/* header only: no JEntry follows */
} ShimContainer;

StaticAssertDecl(offsetof(ShimContainer, jc) - offsetof(ShimContainer, vl_len_) == offsetof(Jsonb, root),
				 "ShimContainer must lay out vl_len_ and jc as a Jsonb");

/* The number of distinct keys of an object node. */
static int
distinct_keys(const cJSON *node)
{
	const cJSON *a,
			   *b;
	int			n = 0;

	for (a = node->child; a != NULL; a = a->next)
	{
		bool		repeated = false;

		for (b = a->next; b != NULL && !repeated; b = b->next)
			repeated = strcmp(a->string, b->string) == 0;
		if (!repeated)
			n++;
	}
	return n;
}

/* A container for an array or object node, or the one-element array of a root scalar. */
static ShimContainer *
make_container(const cJSON *node)
{
	ShimContainer *c = palloc0(sizeof(ShimContainer));

	c->magic = SHIM_CONTAINER_MAGIC;
	c->node = node;
	if (cJSON_IsArray(node))
		c->jc.header = JB_FARRAY | (uint32) cJSON_GetArraySize(node);
	else if (cJSON_IsObject(node))
		c->jc.header = JB_FOBJECT | (uint32) distinct_keys(node);
	else
		c->jc.header = JB_FARRAY | JB_FSCALAR | 1;
	SET_VARSIZE(&c->vl_len_, sizeof(int32) + sizeof(uint32));
	return c;
}

/* The ShimContainer behind a container pointer; aborts on one the shim did not make. */
static ShimContainer *
container_of(JsonbContainer *jc)
{
	ShimContainer *c = (ShimContainer *) ((char *) jc - offsetof(ShimContainer, jc));

	if (c->magic != SHIM_CONTAINER_MAGIC)
		shim_fail("a JsonbContainer that is not from shim_jsonb_from_cjson");
	return c;
}

/* Describe a node as a JsonbValue, as PostgreSQL's accessors fill one in. */
static void
fill_value(const cJSON *node, JsonbValue *v)
{
	memset(v, 0, sizeof(*v));
	if (cJSON_IsNull(node))
		v->type = jbvNull;
	else if (cJSON_IsBool(node))
	{
		v->type = jbvBool;
		v->val.boolean = cJSON_IsTrue(node);
	}
	else if (cJSON_IsNumber(node))
	{
		/* the shim's Numeric is the number as a double (numeric_float8_no_overflow below) */
		double	   *d = palloc(sizeof(double));

		*d = node->valuedouble;
		v->type = jbvNumeric;
		v->val.numeric = (Numeric) d;
	}
	else if (cJSON_IsString(node))
	{
		/* jsonb strings point into the container, without a terminating NUL */
		size_t		len = strlen(node->valuestring);

		v->type = jbvString;
		v->val.string.len = (int) len;
		v->val.string.val = palloc(Max(len, 1));
		memcpy(v->val.string.val, node->valuestring, len);
	}
	else
	{
		v->type = jbvBinary;
		v->val.binary.data = &make_container(node)->jc;
		v->val.binary.len = sizeof(uint32);
	}
}

/* A Jsonb for the tree whose root is root (any JSON value). */
Jsonb *
shim_jsonb_from_cjson(const cJSON *root)
{
	return (Jsonb *) &make_container(root)->vl_len_;
}

/* Look a key up in an object container; the last of repeated keys wins, as in jsonb. */
JsonbValue *
getKeyJsonValueFromContainer(JsonbContainer *container, const char *keyVal, int keyLen,
							 JsonbValue *res)
{
	ShimContainer *c = container_of(container);
	const cJSON *child;
	const cJSON *found = NULL;

	if (!JsonContainerIsObject(container))
		shim_fail("getKeyJsonValueFromContainer on a container that is not an object");
	for (child = c->node->child; child != NULL; child = child->next)
	{
		if (strlen(child->string) == (size_t) keyLen && memcmp(child->string, keyVal, keyLen) == 0)
			found = child;
	}
	if (found == NULL)
		return NULL;
	if (res == NULL)
		res = palloc(sizeof(JsonbValue));
	fill_value(found, res);
	return res;
}

/* The i'th element of an array container (palloc'd), or NULL past the end. */
JsonbValue *
getIthJsonbValueFromContainer(JsonbContainer *container, uint32 i)
{
	ShimContainer *c = container_of(container);
	JsonbValue *res;

	if (!JsonContainerIsArray(container))
		elog(ERROR, "not a jsonb array");
	if (i >= JsonContainerSize(container))
		return NULL;
	res = palloc(sizeof(JsonbValue));
	if (JsonContainerIsScalar(container))
		fill_value(c->node, res);
	else
		fill_value(cJSON_GetArrayItem(c->node, (int) i), res);
	return res;
}

/* True if some object in the tree repeats a key (cJSON finds the first, jsonb keeps the last). */
bool
shim_cjson_has_duplicate_keys(const cJSON *node)
{
	const cJSON *a,
			   *b;

	if (node == NULL)
		return false;
	for (a = node->child; a != NULL; a = a->next)
	{
		if (cJSON_IsObject(node))
			for (b = a->next; b != NULL; b = b->next)
				if (strcmp(a->string, b->string) == 0)
					return true;
		if (shim_cjson_has_duplicate_keys(a))
			return true;
	}
	return false;
}

/* The shim's Numeric (see fill_value) read back as a double. */
Datum
numeric_float8_no_overflow(PG_FUNCTION_ARGS)
{
	return Float8GetDatum(*(double *) PG_GETARG_POINTER(0));
}
