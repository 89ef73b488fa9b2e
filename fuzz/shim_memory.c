/*
 * shim_memory.c — palloc and friends on malloc, for the fuzz harnesses.
 *
 * Every chunk is its own malloc block, so AddressSanitizer puts red zones
 * around each palloc'd object (PostgreSQL's own allocator carves chunks out
 * of big blocks, where an overrun would go unseen). A small header in front
 * links the chunk into the current iteration's list and is poisoned, so a
 * read before the start is reported too. shim_memory_reset() frees what the
 * code under test left behind, as a memory context reset does in a server.
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "pg_shim.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef ASAN_POISON_MEMORY_REGION
#define ASAN_POISON_MEMORY_REGION(addr, size) ((void) (addr), (void) (size))
#define ASAN_UNPOISON_MEMORY_REGION(addr, size) ((void) (addr), (void) (size))
#endif

/* A live chunk's header; 32 bytes, so the caller's memory stays MAXALIGNed. */
typedef struct ShimChunk
{
	struct ShimChunk *prev;
	struct ShimChunk *next;
	Size		size;
	uint64		magic;
} ShimChunk;

#define SHIM_CHUNK_MAGIC UINT64CONST(0x0c0dec0de5a11cc0)
/* fresh memory is not zero in a server either; a pattern makes misuse visible */
#define SHIM_FRESH_BYTE 0x7e

static ShimChunk *live_chunks = NULL;

/* Header of a chunk handed out by shim_alloc; aborts on a pointer that is not one. */
static ShimChunk *
chunk_of(void *pointer, const char *caller)
{
	ShimChunk  *chunk;

	if (pointer == NULL)
		shim_fail("%s(NULL)", caller);
	chunk = (ShimChunk *) pointer - 1;
	ASAN_UNPOISON_MEMORY_REGION(chunk, sizeof(ShimChunk));
	if (chunk->magic != SHIM_CHUNK_MAGIC)
		shim_fail("%s of a pointer that palloc did not return", caller);
	return chunk;
}

/* Allocate size bytes, raising an ERROR over MaxAllocSize as palloc does. */
static void *
shim_alloc(Size size, bool zero)
{
	ShimChunk  *chunk;

	if (!AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	chunk = malloc(sizeof(ShimChunk) + size);
	if (chunk == NULL)
		shim_fail("out of memory for %zu bytes", size);
	chunk->prev = NULL;
	chunk->next = live_chunks;
	if (live_chunks != NULL)
	{
		ASAN_UNPOISON_MEMORY_REGION(live_chunks, sizeof(ShimChunk));
		live_chunks->prev = chunk;
		ASAN_POISON_MEMORY_REGION(live_chunks, sizeof(ShimChunk));
	}
	live_chunks = chunk;
	chunk->size = size;
	chunk->magic = SHIM_CHUNK_MAGIC;
	memset(chunk + 1, zero ? 0 : SHIM_FRESH_BYTE, size);
	ASAN_POISON_MEMORY_REGION(chunk, sizeof(ShimChunk));
	return chunk + 1;
}

/* Unlink a chunk (header already unpoisoned) and give it back to malloc. */
static void
shim_release(ShimChunk *chunk)
{
	if (chunk->prev != NULL)
	{
		ASAN_UNPOISON_MEMORY_REGION(chunk->prev, sizeof(ShimChunk));
		chunk->prev->next = chunk->next;
		ASAN_POISON_MEMORY_REGION(chunk->prev, sizeof(ShimChunk));
	}
	else
		live_chunks = chunk->next;
	if (chunk->next != NULL)
	{
		ASAN_UNPOISON_MEMORY_REGION(chunk->next, sizeof(ShimChunk));
		chunk->next->prev = chunk->prev;
		ASAN_POISON_MEMORY_REGION(chunk->next, sizeof(ShimChunk));
	}
	chunk->magic = 0;
	free(chunk);
}

/* palloc: uninitialised memory in the current "context" (this iteration). */
void *
palloc(Size size)
{
	return shim_alloc(size, false);
}

/* palloc0: zeroed memory. */
void *
palloc0(Size size)
{
	return shim_alloc(size, true);
}

/*
 * palloc_extended: as palloc, with MCXT_ALLOC_ZERO, and MCXT_ALLOC_NO_OOM
 * (a NULL instead of an ERROR; malloc failing aborts here anyway).
 */
void *
palloc_extended(Size size, int flags)
{
	return shim_alloc(size, (flags & MCXT_ALLOC_ZERO) != 0);
}

/* GetMemoryChunkSpace: the chunk's size with its header, as the parse budget counts it. */
Size
GetMemoryChunkSpace(void *pointer)
{
	ShimChunk  *chunk = chunk_of(pointer, "GetMemoryChunkSpace");
	Size		size = chunk->size;

	ASAN_POISON_MEMORY_REGION(chunk, sizeof(ShimChunk));
	return size + sizeof(ShimChunk);
}

/* pfree: free at once, so that ASan reports any later use. */
void
pfree(void *pointer)
{
	shim_release(chunk_of(pointer, "pfree"));
}

/* repalloc: a new chunk with the old contents; the old one is freed. */
void *
repalloc(void *pointer, Size size)
{
	ShimChunk  *old = chunk_of(pointer, "repalloc");
	Size		keep = Min(old->size, size);
	void	   *result;

	ASAN_POISON_MEMORY_REGION(old, sizeof(ShimChunk));
	result = shim_alloc(size, false);
	memcpy(result, pointer, keep);
	shim_release(chunk_of(pointer, "repalloc"));
	return result;
}

/* pstrdup: a palloc'd copy of a C string. */
char *
pstrdup(const char *in)
{
	Size		len = strlen(in);
	char	   *out = palloc(len + 1);

	memcpy(out, in, len + 1);
	return out;
}

/* pnstrdup: a palloc'd copy of at most len bytes, NUL-terminated, as PostgreSQL's. */
char *
pnstrdup(const char *in, Size len)
{
	char	   *out;

	len = strnlen(in, len);
	out = palloc(len + 1);
	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

/* Free every chunk still live, as the reset of a memory context does. */
int
shim_memory_reset(void)
{
	int			n = 0;

	while (live_chunks != NULL)
	{
		ShimChunk  *chunk = live_chunks;

		ASAN_UNPOISON_MEMORY_REGION(chunk, sizeof(ShimChunk));
		shim_release(chunk);
		n++;
	}
	return n;
}
