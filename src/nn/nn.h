/*
 * nn — Rollcall's ONNX inference engine. A model is loaded once (parsed,
 * shape-checked, constant-folded, fused) and is then immutable and shared by
 * every thread; each thread runs it through its own nn_session, which owns
 * the planned intermediate buffers. One run executes on the calling thread.
 *
 * This header is the contract the face pipeline is written against.
 */
#ifndef RC_NN_H
#define RC_NN_H

#include <stddef.h>
#include <stdint.h>

#include "../rc/rc.h"

#define NN_MAX_DIMS 8

typedef struct {
    int ndim;
    int64_t d[NN_MAX_DIMS]; /* -1 for a dimension the model leaves open */
} nn_shape;

typedef struct nn_model nn_model;     /* immutable after load; share freely */
typedef struct nn_session nn_session; /* per thread */

/* Load an .onnx file. On failure *out is NULL and err says what was wrong
 * (unsupported operators name the node and the operator). */
rc_status nn_model_load(const char *path, nn_model **out, rc_error *err);
rc_status nn_model_load_memory(const void *data, size_t len, const char *name, nn_model **out,
                               rc_error *err);
void nn_model_free(nn_model *m);

int nn_model_num_inputs(const nn_model *m);
int nn_model_num_outputs(const nn_model *m);
const char *nn_model_input_name(const nn_model *m, int i);
const char *nn_model_output_name(const nn_model *m, int i);
/* The input shape the model declares (open dimensions are -1). */
nn_shape nn_model_input_shape(const nn_model *m, int i);
/* Index of the named output, or -1. */
int nn_model_output_index(const nn_model *m, const char *name);
/* Make the named values (outputs of nodes, e.g. a detector's raw head
 * before its box decoding) the model's outputs, in that order, and stop
 * running the nodes none of them needs, so the model can take input sizes
 * the removed part could not (constants shaped for one size). Call before
 * any session is created. RC_ERR_NOT_FOUND names a value no node computes
 * (or one a fusion at load removed); the model is then unchanged. */
rc_status nn_model_set_outputs(nn_model *m, const char *const *names, int n, rc_error *err);

/* A workspace for running `m` on one thread. */
rc_status nn_session_create(const nn_model *m, nn_session **out, rc_error *err);
void nn_session_free(nn_session *s);

/* Run the model on float32 inputs (NCHW, contiguous), one per model input in
 * model order, with their shapes. A shape that differs from the previous run
 * re-plans the session; a shape the model cannot take is RC_ERR_INVALID. */
rc_status nn_session_run(nn_session *s, const float *const *inputs, const nn_shape *shapes,
                         rc_error *err);

/* Output i of the last successful run; valid until the next run or free. */
const float *nn_session_output(const nn_session *s, int i, nn_shape *shape);

/* Run with the plain C reference kernels only (no sgemm, no SIMD). The
 * reference path defines the right answer; tests compare the fast paths
 * against it. Off by default. */
void nn_session_set_reference(nn_session *s, int reference);

/* Row bands (README "Row bands"): a 1x1 convolution whose only reader is a
 * depthwise 3x3 stride-2 convolution runs with it as one step, a few output
 * rows at a time, so the 1x1's output (the largest activation of the face
 * networks) stays in L2, and so do up to two convolutions before it that
 * qualify (a chain); the outputs are bit for bit the same. On by default
 * (ROLLCALL_NN_BAND=0 turns it off for new sessions; another value makes
 * nn_session_create fail); band 0 turns it off, NN_BAND_AUTO on with bands
 * sized for L2, n > 0 on with n output rows per band (tests; chains then
 * take every level that can join). The reference path never bands.
 * nn_session_band_count gives the number of chains the last plan runs in
 * bands and writes their node names ("a+b+c+d", space separated) to buf
 * (NULL: not wanted). */
#define NN_BAND_AUTO (-1)
void nn_session_set_band(nn_session *s, int band);
int nn_session_band_count(const nn_session *s, char *buf, size_t len);

/* Profiling: when enabled, each run adds the CPU time of every node to a
 * per-node total (reset by enabling again). nn_session_profile_report gives
 * node i's name, operator, total milliseconds and first input and output
 * shapes; it returns 0 for nodes
 * removed at load (fused) or out of range, so callers loop i from 0 while
 * i < nn_model_num_nodes(). A chain run in row bands (below) counts its
 * time on its last node, none on the others. */
rc_status nn_session_profile(nn_session *s, int enable, rc_error *err);
int nn_session_profile_report(const nn_session *s, int i, const char **name, const char **op,
                              double *ms, nn_shape *in, nn_shape *out);
int nn_model_num_nodes(const nn_model *m);
/* The multiply-adds node i does in one run at the shapes of the last run
 * (Conv, ConvTranspose, MatMul and Gemm; 0 for other operators), counted
 * where the profile counts the time: a chain run in row bands has its
 * nodes' sum on its last node and 0 on the others. With the profile's
 * milliseconds this gives each node's rate beside nn_peak_gmacs. */
int64_t nn_session_node_macs(const nn_session *s, int i);

/* This core's ceiling for a number type: the multiply-adds per second
 * (G) of the widest multiply-add instruction the engine's kernels use for
 * it here, in twelve independent chains held in registers, timed in thread
 * CPU time for about `ms` milliseconds. *instr names the instruction
 * ("AVX-512 FMA", "AVX2 FMA", "AVX-512 VNNI", "AVX-VNNI", "AVX-512 BF16").
 * 0 (and *instr NULL) when the engine has no kernel of that type on this
 * CPU (ROLLCALL_NN_CPU caps count) or the CPU is not x86-64. */
typedef enum { NN_PEAK_F32, NN_PEAK_INT8, NN_PEAK_BF16 } nn_peak_kind;
double nn_peak_gmacs(nn_peak_kind kind, double ms, const char **instr);

/* How many live operator nodes the loaded (fused) graph has, and a line per
 * operator type with its count, written to buf (for `rollcall bench models
 * --ops` and diagnostics). Returns the number of nodes. */
int nn_model_describe(const nn_model *m, char *buf, size_t len);

/* ---- int8 inference (quant.c) -------------------------------------------
 * Convolutions with per-output-channel symmetric int8 weights and per-tensor
 * u8 activations (with a zero point), int32 sums, scaled back to float with
 * the bias, residual and activation in the epilogue. Each int8 Conv's input
 * range is either fixed, from a small text file with one line per Conv,
 * "output-name min max" (written by calibration: running the float model
 * on real inputs), or dynamic: the smallest and largest value of each input,
 * found when the Conv runs. */

/* y[i] = e^x[i] for n values, computed as an Exp node of a graph computes
 * it on this CPU outside the reference path (the vectorised exp where the
 * CPU has AVX2 or AVX-512, else expf): code that finishes a graph's work
 * by hand gets the graph's own bits. x and y may be the same. */
void nn_exp(const float *x, float *y, int64_t n);

/* True when this CPU has int8 dot-product instructions the engine uses
 * (AVX-512 VNNI or AVX-VNNI; ROLLCALL_NN_CPU=avx2 leaves AVX-VNNI,
 * =generic neither). Without them int8 runs the portable C path, slowly. */
int nn_int8_available(void);

/* Give the Convs of `m` their int8 form (before any session is created).
 * With `ranges_path`, the Convs that file lists get its fixed ranges, and
 * those it does not list stay float, or, with NN_Q8_DYNAMIC in flags, get
 * dynamic ranges; with ranges_path NULL every Conv gets dynamic ranges.
 * Convs the int8 kernels do not cover (grouped, depthwise, Sigmoid or
 * HardSwish fused, fewer than 1024 weights) and, unless flags has
 * NN_Q8_OUTPUT_CONVS, the output Convs (whose result reaches no other
 * Conv: a detector's box and score heads, an embedding's last layer) stay
 * float. A file naming a Conv the model lacks is RC_ERR_INVALID (ranges of
 * another model), a missing one RC_ERR_NOT_FOUND. *count, when given, gets
 * the number of int8 Convs. Replaces the int8 form an earlier call gave. */
#define NN_Q8_OUTPUT_CONVS 1u
#define NN_Q8_DYNAMIC      2u
rc_status nn_model_quantize(nn_model *m, const char *ranges_path, unsigned flags, int *count,
                            rc_error *err);

/* Sessions of a quantized model run its int8 Convs unless told not to. */
void nn_session_set_int8(nn_session *s, int int8);

/* Calibration: while enabled, every run widens each Conv's [min, max] of
 * its input; enabling again starts over. nn_session_calibration_save
 * writes what was seen in the ranges format (RC_ERR_INVALID if nothing
 * ran), with `comment` (or NULL) as a first line after '#'. */
rc_status nn_session_calibrate(nn_session *s, int enable, rc_error *err);
rc_status nn_session_calibration_save(const nn_session *s, const char *path, const char *comment,
                                      rc_error *err);

/* ---- bf16 inference (bf16.c) ---------------------------------------------
 * 1x1 convolutions with weights and inputs rounded to bfloat16 (round to
 * nearest even) and fp32 sums (VDPBF16PS), the bias, residual and
 * activation in fp32 as in float. */

/* True when this CPU has AVX-512 BF16 (ROLLCALL_NN_CPU=avx2 or generic
 * turn it off). Without it the bf16 forms are not used. */
int nn_bf16_available(void);

/* Give the 1x1 Convs of `m` (ungrouped, stride 1, no pads, at least 1024
 * weights, an activation among none, ReLU, PReLU, LeakyReLU and Clip, no
 * pooling folded in) their bf16 form (before any session is created); a
 * call of one with fewer than `min_macs` multiply-adds (output channels x
 * input channels x pixels) runs in float, as does a Conv that also has an
 * int8 form (in int8). *count, when given, gets the number of Convs given
 * a bf16 form. Replaces the bf16 form an earlier call gave. */
rc_status nn_model_bf16(nn_model *m, int64_t min_macs, int *count, rc_error *err);

/* What the face pipeline gives fr_liveness (README "bf16 inference"): its
 * nineteen 1x1 Convs of 0.85 to 15 M multiply-adds run in bf16, the seven
 * smaller ones (the squeeze-excitation gates on 1x1 planes, the 26-channel
 * bottlenecks on 8x8) in float: with those too the liveness evaluation
 * moved three samples across the 0.70 threshold, without them none. */
#define NN_BF16_MIN_MACS 800000

/* Sessions run the bf16 Convs of a model that has them unless told not to
 * (float is the reference; nn_session_set_reference runs the bf16
 * reference kernel). */
void nn_session_set_bf16(nn_session *s, int bf16);

/* Let s place its intermediate buffers and scratch in the same memory as
 * `with` (and every session already sharing with it), grown to the largest
 * need: for sessions that only ever run one after another on one thread,
 * such as a face worker's networks, each run then writes into memory the
 * previous one has just used and that is still in cache. The outputs of a
 * sharing session are then valid only until any session of the group runs
 * again. Both sessions are re-planned at their next run. */
rc_status nn_session_share_memory(nn_session *s, nn_session *with, rc_error *err);

#endif
