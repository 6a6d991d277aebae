/* vec.h (internal to libsnm): element loops that the compiler vectorises and that give the same
 * bits as the plain loops they replace, and the AVX2 clones of the functions that run them
 * (arith.c, batchnorm.c, adam.c).
 *
 * SNM_BLOCKED(T, i, n, stmt) runs stmt for i = 0 .. n-1 (i of integer type T), in blocks of
 * SNM_BLOCK elements and then the tail: the statement, elements and order of
 *
 *     for (T i = 0; i < n; ++i) stmt;
 *
 * With restrict pointers, GCC vectorises the fixed-length inner loop at -O2 (a plain loop of
 * unknown length it does not) -- with an unsigned index: give T as size_t (and n as a size_t).
 * GCC 12 at -O2 leaves an int-indexed block scalar ("no vectype for stmt" in -fopt-info-vec-all):
 * batch norm's row sweeps and the bias gradient ran that way, unvectorised, until they were
 * switched to size_t (the bits are the same either way; see the contract below).  n is evaluated
 * more than once (no side effects); stmt may hold commas.
 *
 * SNM_CLONES, put before a function definition, compiles the function twice, for AVX2 and for the
 * baseline, and the dynamic loader picks the one for the processor (target_clones, through an
 * ifunc: GCC on x86-64 glibc only; musl, MinGW, macOS and clang get the one baseline build).
 *
 * The contract that makes every variant give the same bits (plain loop, blocks, SSE2 or AVX2
 * lanes): stmt computes element i from element i of its arrays and from loop invariants alone,
 * the array it writes overlaps none of the others it reads (read arrays may be one and the same),
 * and its operations are IEEE add, subtract,
 * multiply, divide, square root and conversions, which round alike on any lane width -- in the
 * order the source gives, with no contraction into fused multiply-adds: libsnm is compiled with
 * -ffp-contract=off (configure.ac), so the AVX2 clones hold no FMA instruction (objdump -d
 * src/core/.libs/libsnm.so | grep -c vfmadd: 0).  Reductions across elements (a sum over i) are
 * not element-wise and do not belong here. */
#ifndef SNM_VEC_H
#define SNM_VEC_H

#define SNM_BLOCK 8

#define SNM_BLOCKED(T, i, n, ...)                                 \
	do {                                                          \
		T b_ = 0;                                                 \
		for (; b_ + SNM_BLOCK <= (n); b_ += SNM_BLOCK)            \
			for (T i = b_; i < b_ + SNM_BLOCK; ++i)               \
				__VA_ARGS__;                                      \
		for (T i = b_; i < (n); ++i)                              \
			__VA_ARGS__;                                          \
	} while (0)

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__) && defined(__GLIBC__)
#define SNM_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SNM_CLONES
#endif

#endif
