/* A seeded /dev/urandom for eflomal (xstilts.wordalign.seeded_eflomal).
 *
 * eflomal 2.0.0 seeds its sampler by reading /dev/urandom with fopen (random_system_state, once per direction).
 * Preloaded (LD_PRELOAD), this library answers fopen("/dev/urandom") with an in-memory stream of bytes drawn by
 * splitmix64 from the seed in XSTILTS_EFLOMAL_SEED: the n-th open (n = 0, 1, ...) of the process starts from
 * mix(seed) ^ mix(n * 0x9e3779b97f4a7c15 + 1), mix being one splitmix64 step, so the two directions differ, a rerun gets
 * the same bytes, and no open under one seed repeats an open under another (with state seed + n, seed s's reverse
 * direction was seed s + 1's forward one). Every other path goes to the real fopen/fopen64.
 * Without XSTILTS_EFLOMAL_SEED the real /dev/urandom is opened; with one that is not a decimal integer, the process
 * aborts (a seed was asked for: never a silent fallback to the unseeded device).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEEDED_BYTES 4096

typedef FILE *(*fopen_fn)(const char *, const char *);

static uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* one splitmix64 step from x: a bijection of 64-bit words that scatters neighbouring inputs */
static uint64_t mix(uint64_t x) { return splitmix64(&x); }

static unsigned long opened = 0;

static FILE *seeded_stream(void) {
    char *end = NULL;
    const char *text = getenv("XSTILTS_EFLOMAL_SEED");
    uint64_t seed = strtoull(text, &end, 10);
    if (*text == '\0' || *end != '\0')
        return NULL;
    uint64_t n = __atomic_fetch_add(&opened, 1UL, __ATOMIC_SEQ_CST);
    uint64_t state = mix(seed) ^ mix(n * 0x9e3779b97f4a7c15ULL + 1);
    FILE *f = fmemopen(NULL, SEEDED_BYTES, "w+");
    if (f == NULL)
        return NULL;
    for (int i = 0; i < SEEDED_BYTES / 8; i++) {
        uint64_t v = splitmix64(&state);
        if (fwrite(&v, sizeof v, 1, f) != 1) {
            fclose(f);
            return NULL;
        }
    }
    rewind(f);
    return f;
}

static FILE *open_with(const char *name, const char *path, const char *mode) {
    if (path != NULL && strcmp(path, "/dev/urandom") == 0) {
        if (getenv("XSTILTS_EFLOMAL_SEED") == NULL)
            return ((fopen_fn)dlsym(RTLD_NEXT, name))(path, mode);
        FILE *f = seeded_stream();
        if (f == NULL) { /* a seed was asked for: never fall back to the unseeded device silently */
            fprintf(stderr, "xstilts seeded /dev/urandom: cannot build the seeded stream\n");
            abort();
        }
        return f;
    }
    fopen_fn real = (fopen_fn)dlsym(RTLD_NEXT, name);
    return real == NULL ? NULL : real(path, mode);
}

FILE *fopen(const char *path, const char *mode) { return open_with("fopen", path, mode); }

FILE *fopen64(const char *path, const char *mode) { return open_with("fopen64", path, mode); }
