// Sequentially consistent atomics on 64-bit words and a spin-wait hint, for the worker
// pool's spin-then-sleep handoff and the C API's session-in-use check (Swift's own atomics
// need a newer runtime than we target).
#ifndef PONDER_ATOMICS_H
#define PONDER_ATOMICS_H

#include <stdint.h>

static inline int64_t pk_atomic_load(const int64_t *p) { return __atomic_load_n(p, __ATOMIC_SEQ_CST); }
static inline void pk_atomic_store(int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_SEQ_CST); }
// Sets *p to desired if it holds expected; returns 1 if it did, else 0.
static inline int pk_atomic_cas(int64_t *p, int64_t expected, int64_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}
// Adds v and returns the new value.
static inline int64_t pk_atomic_add(int64_t *p, int64_t v) { return __atomic_add_fetch(p, v, __ATOMIC_SEQ_CST); }

static inline void pk_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
