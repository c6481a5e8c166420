# Array memory pool (arraypool.c) as a numpy memory handler: arrays made
# while it is set (ckeras.backend.memory.pooled_arrays) take their data
# from the pool and give it back when freed, wherever and whenever that is.
from cpython.pycapsule cimport PyCapsule_New
from libc.string cimport strncpy

cdef extern from "numpy/arrayobject.h":
    ctypedef struct PyDataMemAllocator:
        void *ctx
        void *(*malloc)(void *ctx, size_t size) noexcept nogil
        void *(*calloc)(void *ctx, size_t nelem, size_t elsize) noexcept nogil
        void *(*realloc)(void *ctx, void *ptr, size_t new_size) noexcept nogil
        void (*free)(void *ctx, void *ptr, size_t size) noexcept nogil
    ctypedef struct PyDataMem_Handler:
        char name[127]
        unsigned char version
        PyDataMemAllocator allocator
    object PyDataMem_SetHandler(object handler)


cdef void *_pool_np_malloc(void *ctx, size_t size) noexcept nogil:
    return ck_pool_malloc(size)


cdef void *_pool_np_calloc(void *ctx, size_t nelem, size_t elsize) noexcept nogil:
    return ck_pool_calloc(nelem, elsize)


cdef void *_pool_np_realloc(void *ctx, void *ptr, size_t new_size) noexcept nogil:
    return ck_pool_realloc(ptr, new_size)


cdef void _pool_np_free(void *ctx, void *ptr, size_t size) noexcept nogil:
    ck_pool_free(ptr)  # the block's header knows its size


cdef PyDataMem_Handler _pool_handler
strncpy(_pool_handler.name, b"ckeras_array_pool", 127)
_pool_handler.version = 1
_pool_handler.allocator.ctx = NULL
_pool_handler.allocator.malloc = _pool_np_malloc
_pool_handler.allocator.calloc = _pool_np_calloc
_pool_handler.allocator.realloc = _pool_np_realloc
_pool_handler.allocator.free = _pool_np_free
# numpy keeps a reference to the capsule in every array it allocates with it
_POOL_HANDLER = PyCapsule_New(&_pool_handler, b"mem_handler", NULL)


def pool_set_handler(handler):
    """Sets numpy's memory handler in the current context (contextvars)
    and returns the previous one. handler: pool_handler() or a value this
    returned earlier."""
    return PyDataMem_SetHandler(handler)


def pool_handler():
    """The pool's numpy memory handler (a capsule)."""
    return _POOL_HANDLER


def pool_release():
    """Unmaps every cached block (live arrays keep theirs)."""
    ck_pool_release()


def pool_set_cap(size_t nbytes):
    """Caches at most nbytes of freed blocks (0: none)."""
    ck_pool_set_cap(nbytes)


def pool_stats():
    """dict: cached_bytes, cap_bytes, hits (requests served from the
    cache), misses (fresh maps) of blocks of 128 KiB or more."""
    cdef int64_t out[4]
    ck_pool_stats(out)
    return {"cached_bytes": out[0], "cap_bytes": out[1], "hits": out[2],
            "misses": out[3]}
