/*
 * plan.c — sessions: planning for a set of input shapes, and running.
 *
 * Planning walks the nodes once: every operator infers its output shapes;
 * a node whose inputs are all known (initializers, Shape of a planned
 * tensor, earlier folds) is evaluated right away (constant folding: the
 * Shape/Gather/Unsqueeze/Concat/Reshape chains exporters emit disappear);
 * Reshape-like nodes become aliases of their input; the rest become run-time
 * steps. A channel Concat of a batch-1 tensor has its inputs written by
 * their producers straight into their slots of its output (and an earlier
 * Concat of the same first inputs placed at its start), so no copy is
 * made. Intermediate buffers are then assigned by liveness, reusing a
 * freed buffer whenever one is large enough, so a session holds only a few
 * buffers however deep the network is.
 *
 * Sessions that run one after another on one thread (a face worker's four
 * networks) can share one block for their buffers and scratch
 * (nn_session_share_memory): each network then writes into memory the one
 * before it has just used, still in cache, instead of its own buffers,
 * which the others have pushed out of the caches since its last run.
 *
 * Running binds the caller's inputs, sets flush-to-zero/denormals-are-zero
 * for the duration of the run (restoring the caller's mode after), and
 * executes the steps in order on the calling thread.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/* The memory that sessions sharing it (nn_session_share_memory) place
 * their buffers and scratch in, as large as the largest plan needs. */
typedef struct {
    void *p;
    size_t cap;
    int refs;
} shared_block;

typedef struct {
    nn_tensor t;
    bool known;  /* data available at plan time */
    bool owned;  /* t.data belongs to the plan */
    int root;    /* value whose buffer this one uses (itself, or what it aliases) */
    int parent;  /* Concat output this value is placed inside, or -1 */
    size_t poff; /* byte offset inside the parent */
    int storage;
    int last_use; /* step index; INT_MAX for graph outputs */
    bool banded;  /* a 1x1's output only a row band step reads: no buffer */
} plan_value;

/* A step's part in a chain run in row bands (band.c): the first ones run
 * nothing, the last (the depthwise stride-2 Conv) runs them all. */
typedef enum { STEP_PLAIN, STEP_BAND_HEAD, STEP_BAND_TAIL } step_kind;
typedef struct {
    step_kind kind;
    nn_band band; /* STEP_BAND_TAIL: band.n steps, this one the last */
} plan_step;

struct nn_session {
    const nn_model *m;
    bool reference;
    bool int8; /* run the int8 Convs of a quantized model */
    bool bf16; /* run the bf16 Convs of a model given them */
    int band;  /* row bands: 0 off, NN_BAND_AUTO, or output rows per band */
    bool planned;
    nn_shape *shapes; /* input shapes of the current plan */
    plan_value *v;
    int *steps;
    int nsteps;
    plan_step *step; /* per step; NULL when no pair runs in bands */
    int nbands;
    float **stor;
    size_t *stor_bytes;
    int nstor;
    void *scratch;
    size_t scratch_bytes;
    /* sharing: the block, and each buffer's and the scratch's offset in it
     * (bound to the block's address at run time, see bind_shared) */
    shared_block *shared;
    size_t *stor_off, scratch_off, shared_need;
    void *bound;             /* the block address the pointers were set for */
    nn_tensor **tin, **tout; /* argument arrays for one node */
    int maxin, maxout;
    double *node_ms; /* per node, when profiling */
    float *range;    /* per node [min, max] of a Conv's input, when calibrating */
    int calib_runs;
};

static void plan_clear(nn_session *s)
{
    if (s->v)
        for (int i = 0; i < s->m->nvalues; i++)
            if (s->v[i].owned) free(s->v[i].t.data);
    free(s->v);
    s->v = NULL;
    if (!s->shared)
        for (int i = 0; i < s->nstor; i++) free(s->stor[i]);
    free(s->stor);
    free(s->stor_bytes);
    free(s->stor_off);
    s->stor = NULL;
    s->stor_bytes = NULL;
    s->stor_off = NULL;
    s->nstor = 0;
    s->bound = NULL;
    free(s->steps);
    s->steps = NULL;
    s->nsteps = 0;
    free(s->step);
    s->step = NULL;
    s->nbands = 0;
    if (!s->shared) free(s->scratch);
    s->scratch = NULL;
    s->scratch_bytes = 0;
    s->planned = false;
}

static void shared_release(shared_block *b)
{
    if (b && --b->refs == 0) {
        free(b->p);
        free(b);
    }
}

rc_status nn_session_share_memory(nn_session *s, nn_session *with, rc_error *err)
{
    if (s == with || (s->shared && s->shared == with->shared)) return RC_OK;
    if (!with->shared) {
        if (with->planned) plan_clear(with); /* its buffers move into the block */
        with->shared = calloc(1, sizeof *with->shared);
        if (!with->shared) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        with->shared->refs = 1;
    }
    plan_clear(s);
    shared_release(s->shared);
    s->shared = with->shared;
    s->shared->refs++;
    return RC_OK;
}

void nn_session_free(nn_session *s)
{
    if (!s) return;
    plan_clear(s);
    shared_release(s->shared);
    free(s->shapes);
    free(s->tin);
    free(s->tout);
    free(s->node_ms);
    free(s->range);
    free(s);
}

rc_status nn_session_create(const nn_model *m, nn_session **out, rc_error *err)
{
    *out = NULL;
    nn_session *s = calloc(1, sizeof *s);
    if (!s) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    s->m = m;
    s->int8 = true;
    s->bf16 = true;
    const char *band = getenv("ROLLCALL_NN_BAND");
    if (band && *band && strcmp(band, "0") != 0 && strcmp(band, "1") != 0) {
        free(s);
        return rc_fail(err, RC_ERR_INVALID,
                       "ROLLCALL_NN_BAND=%s: expected 0 (no row bands) or 1 (row bands, the "
                       "default)",
                       band);
    }
    s->band = band && strcmp(band, "0") == 0 ? 0 : NN_BAND_AUTO;
    for (int i = 0; i < m->nnodes; i++) {
        if (m->nodes[i].nin > s->maxin) s->maxin = m->nodes[i].nin;
        if (m->nodes[i].nout > s->maxout) s->maxout = m->nodes[i].nout;
    }
    s->shapes = calloc((size_t)m->ninputs, sizeof *s->shapes);
    s->tin = calloc((size_t)s->maxin + 1, sizeof *s->tin);
    s->tout = calloc((size_t)s->maxout + 1, sizeof *s->tout);
    if (!s->shapes || !s->tin || !s->tout) {
        nn_session_free(s);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    *out = s;
    return RC_OK;
}

/* The settings below decide which pairs run in row bands (plan_bands):
 * a change re-plans at the next run. */
void nn_session_set_reference(nn_session *s, int reference)
{
    if (s->reference != (reference != 0)) s->planned = false;
    s->reference = reference != 0;
}

void nn_session_set_int8(nn_session *s, int int8)
{
    if (s->int8 != (int8 != 0)) s->planned = false;
    s->int8 = int8 != 0;
}

void nn_session_set_bf16(nn_session *s, int bf16)
{
    if (s->bf16 != (bf16 != 0)) s->planned = false;
    s->bf16 = bf16 != 0;
}

void nn_session_set_band(nn_session *s, int band)
{
    band = band < 0 ? NN_BAND_AUTO : band;
    if (s->band != band) s->planned = false;
    s->band = band;
}

int nn_session_band_count(const nn_session *s, char *buf, size_t len)
{
    size_t o = 0;
    if (buf && len) buf[0] = 0;
    for (int i = 0; buf && s->step && i < s->nsteps; i++) {
        if (s->step[i].kind != STEP_BAND_TAIL) continue;
        int first = i - s->step[i].band.n + 1;
        for (int j = first; j <= i && o < len; j++) {
            const char *sep = j > first ? "+" : o ? " " : "";
            o += (size_t)snprintf(buf + o, len - o, "%s%s", sep, s->m->nodes[s->steps[j]].name);
        }
    }
    return s->nbands;
}

static rc_status check_input_shape(const nn_model *m, int i, const nn_shape *got, rc_error *err)
{
    const nn_shape *want = &m->input_shapes[i];
    char a[128], b[128];
    bool ok =
        got->ndim >= 0 && got->ndim <= NN_MAX_DIMS && (want->ndim == 0 || got->ndim == want->ndim);
    for (int k = 0; ok && k < got->ndim; k++) {
        if (got->d[k] <= 0 || got->d[k] > NN_MAX_ELEMS) ok = false;
        if (want->ndim && k < want->ndim && want->d[k] > 0 && want->d[k] != got->d[k] && k < 2)
            ok = false; /* batch and channels are fixed; spatial sizes may vary */
    }
    if (ok) return nn_shape_check(NULL, got, err);
    nn_shape_format(want, a, sizeof a);
    nn_shape_format(got, b, sizeof b);
    return rc_fail(err, RC_ERR_INVALID, "%s: input '%s' must be %s (-1: any size), got %s", m->name,
                   m->values[m->inputs[i]].name, a, b);
}

/* Every node: infer shapes, fold what is known, collect the run-time steps. */
static rc_status plan_nodes(nn_session *s, rc_error *err)
{
    const nn_model *m = s->m;
    for (int i = 0; i < m->nnodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (n->dead) continue;
        bool all_known = true;
        for (int k = 0; k < n->nin; k++) {
            s->tin[k] = n->in[k] >= 0 ? &s->v[n->in[k]].t : NULL;
            if (n->in[k] >= 0 && !s->v[n->in[k]].known) all_known = false;
        }
        for (int k = 0; k < n->nout; k++) {
            s->tout[k] = &s->v[n->out[k]].t;
            memset(s->tout[k], 0, sizeof(nn_tensor));
        }
        nn_ctx c = {.node = n,
                    .opset = m->opset,
                    .in = s->tin,
                    .nin = n->nin,
                    .out = s->tout,
                    .nout = n->nout,
                    .err = err};
        if (n->nin > 0 && !s->tin[0] && strcmp(n->op_type, "Constant") != 0)
            return nn_node_fail(err, RC_ERR_CORRUPT, n, "its first input is missing");
        rc_status st = n->def->infer(&c);
        if (st != RC_OK) return st;
        for (int k = 0; k < n->nout; k++) {
            st = nn_shape_check(n, &s->tout[k]->shape, err);
            if (st != RC_OK) return st;
        }
        if (s->tout[0]->data) { /* inferred with its value (Shape, Constant) */
            for (int k = 0; k < n->nout; k++) {
                s->v[n->out[k]].known = true;
                s->v[n->out[k]].owned = true;
            }
            continue;
        }
        if (n->def->alias) {
            plan_value *src = &s->v[n->in[0]];
            for (int k = 0; k < n->nout; k++) {
                plan_value *o = &s->v[n->out[k]];
                o->t.data = src->t.data;
                o->known = src->known;
                o->root = src->root;
            }
            if (!src->known) s->steps[s->nsteps++] = i;
            continue;
        }
        if (all_known && n->nin > 0) {
            /* constant folding */
            for (int k = 0; k < n->nout; k++) {
                size_t bytes =
                    (size_t)nn_shape_count(&s->tout[k]->shape) * nn_dtype_size(s->tout[k]->type);
                s->tout[k]->data = calloc(1, bytes ? bytes : 1);
                if (!s->tout[k]->data) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
                s->v[n->out[k]].known = true;
                s->v[n->out[k]].owned = true;
            }
            void *scratch = c.scratch_bytes ? malloc(c.scratch_bytes) : NULL;
            if (c.scratch_bytes && !scratch) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
            c.scratch = scratch;
            c.reference = true;
            n->def->run(&c);
            free(scratch);
            continue;
        }
        for (int k = 0; k < n->nin; k++)
            if (s->tin[k] && s->tin[k]->type != NN_F32 && !s->v[n->in[k]].known &&
                strcmp(n->op_type, "Gather") != 0)
                return nn_node_fail(err, RC_ERR_UNSUPPORTED, n,
                                    "integer tensors computed at run time are not supported");
        if (c.scratch_bytes > s->scratch_bytes) s->scratch_bytes = c.scratch_bytes;
        s->steps[s->nsteps++] = i;
    }
    return RC_OK;
}

/* Whether value v (a Conv's output) can live in row bands only: no graph
 * output, one reader, computed at run time, in a buffer of its own. */
static bool band_value(const nn_session *s, int v)
{
    const nn_model *m = s->m;
    int readers = 0;
    for (int k = 0; k < m->noutputs; k++) readers += m->outputs[k] == v;
    for (int j = 0; j < m->nnodes; j++)
        for (int k = 0; !m->nodes[j].dead && k < m->nodes[j].nin; k++)
            readers += m->nodes[j].in[k] == v;
    const plan_value *pv = &s->v[v];
    return readers == 1 && !pv->known && pv->root == v;
}

/* Step j's node as a level of a chain whose next step reads its output. */
static bool band_link(const nn_session *s, int j, const nn_node *next)
{
    const nn_node *a = &s->m->nodes[s->steps[j]];
    return strcmp(a->op_type, "Conv") == 0 && a->nout == 1 && a->nin <= 3 && a->nin >= 2 &&
           next->nin >= 1 && next->in[0] == a->out[0] && (!s->step || !s->step[j].kind) &&
           band_value(s, a->out[0]);
}

/* Chains of steps that run as one in row bands (band.c): a depthwise Conv
 * and the 1x1 Conv before it whose output only it reads, and up to two
 * steps before those the same way. The banded outputs then get no buffer.
 * Not on the reference path nor while calibrating (which reads every
 * Conv's input). */
static rc_status plan_bands(nn_session *s, rc_error *err)
{
    const nn_model *m = s->m;
    if (!s->band || s->reference || s->range) return RC_OK;
    for (int i = 1; i < s->nsteps; i++) {
        const nn_node *b = &m->nodes[s->steps[i]];
        if (strcmp(b->op_type, "Conv") != 0 || b->nout != 1) continue;
        /* steps i - n + 1 .. i, each read only by the next */
        int n = 1;
        while (n < NN_BAND_MAX && i - n >= 0 && band_link(s, i - n, &m->nodes[s->steps[i - n + 1]]))
            n++;
        if (n < 2) continue;
        const nn_node *nodes[NN_BAND_MAX];
        nn_ctx ctx[NN_BAND_MAX], *calls[NN_BAND_MAX];
        nn_tensor *in[NN_BAND_MAX][3], *out[NN_BAND_MAX][1];
        bool ok = true;
        for (int k = 0; k < n; k++) {
            const nn_node *a = &m->nodes[s->steps[i - n + 1 + k]];
            nodes[k] = a;
            for (int q = 0; q < 3; q++)
                in[k][q] = q < a->nin && a->in[q] >= 0 ? &s->v[a->in[q]].t : NULL;
            out[k][0] = &s->v[a->out[0]].t;
            ok &= in[k][0] && in[k][1] && a->nin <= 3;
            ctx[k] = (nn_ctx){.node = a,
                              .opset = m->opset,
                              .in = in[k],
                              .nin = a->nin,
                              .out = out[k],
                              .nout = 1,
                              .int8 = s->int8,
                              .bf16 = s->bf16,
                              .err = err};
            calls[k] = &ctx[k];
        }
        nn_band bd;
        size_t scratch;
        int k = ok ? nn_band_plan(m, nodes, calls, n, s->band == NN_BAND_AUTO ? 0 : s->band, &bd,
                                  &scratch)
                   : 0;
        if (k < 2) continue;
        if (!s->step) {
            s->step = calloc((size_t)s->nsteps + 1, sizeof *s->step);
            if (!s->step) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        }
        for (int j = i - k + 1; j < i; j++) {
            s->step[j].kind = STEP_BAND_HEAD;
            s->v[m->nodes[s->steps[j]].out[0]].banded = true;
        }
        s->step[i].kind = STEP_BAND_TAIL;
        s->step[i].band = bd;
        if (scratch > s->scratch_bytes) s->scratch_bytes = scratch;
        s->nbands++;
    }
    return RC_OK;
}

/* The value owning the buffer `v` lives in, and v's byte offset in it:
 * follows aliases (Reshape and friends view their input) and placements
 * (a Concat input written straight into the Concat's output). */
static int resolve(const nn_session *s, int v, size_t *off)
{
    size_t o = 0;
    for (;;) {
        const plan_value *p = &s->v[v];
        if (p->root != v)
            v = p->root;
        else if (p->parent >= 0) {
            o += p->poff;
            v = p->parent;
        } else
            break;
    }
    if (off) *off = o;
    return v;
}

/* DenseNet as torchvision exports it concatenates all the earlier feature
 * maps again at every layer: Concat(x0, n1), Concat(x0, n1, n2), ... When
 * an earlier Concat P (step before `i`, same axis) has exactly the first
 * inputs of this one, n, P's output is placed at the start of n's output:
 * P's inputs then already sit in their slots of n, and only n's new inputs
 * are written (by their producers, see below). P's output is only read
 * after it is computed, and nothing else is written over it: the slots
 * after it belong to n's later inputs. */
static void place_prefix_concat(nn_session *s, int i, const nn_node *n, int axis, bool *placed)
{
    const nn_model *m = s->m;
    int best = -1, bestn = 0;
    for (int j = 0; j < i; j++) {
        const nn_node *p = &m->nodes[s->steps[j]];
        if (p->nin <= bestn || p->nin >= n->nin || strcmp(p->op_type, "Concat") != 0) continue;
        int pv = p->out[0], pa = (int)nn_attr_int(p, "axis", m->opset < 4 ? 1 : 0);
        const plan_value *pp = &s->v[pv];
        if (pa < 0) pa += pp->t.shape.ndim;
        if (pa != axis || pp->known || pp->root != pv || pp->parent >= 0 || placed[pv] ||
            pp->t.type != NN_F32)
            continue;
        bool prefix = true;
        for (int k = 0; k < p->nin && prefix; k++) prefix = p->in[k] == n->in[k];
        if (prefix) {
            best = pv;
            bestn = p->nin;
        }
    }
    if (best < 0) return;
    s->v[best].parent = n->out[0];
    s->v[best].poff = 0;
    placed[best] = true;
}

/* Concat along the channel axis of a batch-1 tensor is an append: each input
 * computed at run time can be written by its producer straight into its slot
 * of the output, and the copy disappears (DenseNet concatenates at every
 * layer). Inputs that are graph inputs, aliases, or already placed keep the
 * copy. An earlier Concat whose inputs start this one's is placed first
 * (place_prefix_concat). */
static void place_concats(nn_session *s)
{
    const nn_model *m = s->m;
    bool *placed = calloc((size_t)m->nvalues + 1, sizeof *placed);
    if (!placed) return; /* only an optimisation */
    for (int i = 0; i < m->noutputs; i++) placed[m->outputs[i]] = true;
    for (int i = 0; i < s->nsteps; i++) {
        const nn_node *n = &m->nodes[s->steps[i]];
        if (strcmp(n->op_type, "Concat") != 0) continue;
        const nn_tensor *o = &s->v[n->out[0]].t;
        int axis = (int)nn_attr_int(n, "axis", m->opset < 4 ? 1 : 0);
        if (axis < 0) axis += o->shape.ndim;
        int64_t outer = 1;
        for (int k = 0; k < axis && k < o->shape.ndim; k++) outer *= o->shape.d[k];
        if (outer != 1 || o->type != NN_F32) continue;
        place_prefix_concat(s, i, n, axis, placed);
        size_t off = 0;
        for (int k = 0; k < n->nin; k++) {
            int v = n->in[k];
            plan_value *p = &s->v[v];
            size_t bytes = (size_t)nn_shape_count(&p->t.shape) * sizeof(float);
            if (!p->known && p->root == v && p->parent < 0 && !placed[v] &&
                m->values[v].producer >= 0 && v != n->out[0]) {
                p->parent = n->out[0];
                p->poff = off;
                placed[v] = true;
            }
            off += bytes;
        }
    }
    free(placed);
}

/* Every run-time value's data in its buffer (s->stor set). */
static void bind_values(nn_session *s)
{
    for (int i = 0; i < s->m->nvalues; i++) {
        if (s->v[i].known || s->v[i].root != i) continue;
        size_t off;
        int r = resolve(s, i, &off);
        if (s->v[r].storage >= 0) s->v[i].t.data = (char *)s->stor[s->v[r].storage] + off;
    }
}

/* Liveness and buffer assignment for the run-time values. */
static rc_status plan_memory(nn_session *s, rc_error *err)
{
    const nn_model *m = s->m;
    int nv = m->nvalues;
    for (int i = 0; i < s->nsteps; i++) {
        /* a band chain's last step reads the earlier ones' inputs too */
        for (int j = s->step && s->step[i].kind == STEP_BAND_TAIL ? i - s->step[i].band.n + 1 : i;
             j <= i; j++) {
            const nn_node *n = &m->nodes[s->steps[j]];
            for (int k = 0; k < n->nin; k++)
                if (n->in[k] >= 0) {
                    plan_value *r = &s->v[resolve(s, n->in[k], NULL)];
                    if (i > r->last_use) r->last_use = i;
                }
        }
    }
    for (int i = 0; i < m->noutputs; i++) s->v[resolve(s, m->outputs[i], NULL)].last_use = INT_MAX;

    int *release = calloc((size_t)nv + 1, sizeof *release); /* storage freed after a step */
    int *free_list = calloc((size_t)nv + 1, sizeof *free_list);
    s->stor_bytes = calloc((size_t)nv + 1, sizeof *s->stor_bytes);
    s->stor = calloc((size_t)nv + 1, sizeof *s->stor);
    if (!release || !free_list || !s->stor_bytes || !s->stor) {
        free(release);
        free(free_list);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    int nfree = 0;
    for (int i = 0; i < s->nsteps; i++) {
        const nn_node *n = &m->nodes[s->steps[i]];
        if (!n->def->alias)
            for (int k = 0; k < n->nout; k++) {
                plan_value *o = &s->v[resolve(s, n->out[k], NULL)];
                /* placed inside a buffer already taken, or never stored */
                if (o->storage >= 0 || o->banded) continue;
                size_t need = (size_t)nn_shape_count(&o->t.shape) * nn_dtype_size(o->t.type);
                need = (need + 63) / 64 * 64 + 64;
                int best = -1;
                for (int f = 0; f < nfree; f++) {
                    int id = free_list[f];
                    if (best < 0) {
                        best = f;
                        continue;
                    }
                    size_t bb = s->stor_bytes[free_list[best]], cb = s->stor_bytes[id];
                    bool fits = cb >= need, bfits = bb >= need;
                    if ((fits && (!bfits || cb < bb)) || (!fits && !bfits && cb > bb)) best = f;
                }
                int id;
                if (best >= 0) {
                    id = free_list[best];
                    free_list[best] = free_list[--nfree];
                } else {
                    id = s->nstor++;
                }
                if (s->stor_bytes[id] < need) s->stor_bytes[id] = need;
                o->storage = id;
                if (o->last_use < i) o->last_use = i; /* unused output: free right after */
                release[id] = o->last_use;
            }
        /* free every buffer whose last reader was this step */
        for (int k = 0; k < n->nin + n->nout; k++) {
            int vid = k < n->nin ? n->in[k] : n->out[k - n->nin];
            if (vid < 0) continue;
            plan_value *r = &s->v[resolve(s, vid, NULL)];
            if (r->storage < 0 || r->last_use != i) continue;
            bool listed = false;
            for (int f = 0; f < nfree; f++) listed |= free_list[f] == r->storage;
            if (!listed && release[r->storage] == i) free_list[nfree++] = r->storage;
        }
    }
    free(release);
    free(free_list);
    if (s->shared) {
        /* offsets in the shared block; the block grows (and every
         * session sharing it rebinds) before the next run needs it */
        s->stor_off = calloc((size_t)s->nstor + 1, sizeof *s->stor_off);
        if (!s->stor_off) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        size_t off = 0;
        for (int i = 0; i < s->nstor; i++) {
            s->stor_off[i] = off;
            off += (s->stor_bytes[i] + 63) / 64 * 64;
        }
        s->scratch_off = off;
        s->shared_need = off + (s->scratch_bytes + 63) / 64 * 64;
        return RC_OK;
    }
    for (int i = 0; i < s->nstor; i++) {
        s->stor[i] = aligned_alloc(64, s->stor_bytes[i]);
        if (!s->stor[i]) return rc_fail(err, RC_ERR_NOMEM, "out of memory for buffers");
    }
    bind_values(s);
    if (s->scratch_bytes) {
        s->scratch = aligned_alloc(64, (s->scratch_bytes + 63) / 64 * 64);
        if (!s->scratch) return rc_fail(err, RC_ERR_NOMEM, "out of memory for scratch");
    }
    return RC_OK;
}

/* A shared session's buffers and scratch at the block's current address,
 * the block first grown to what this plan needs. */
static rc_status bind_shared(nn_session *s, rc_error *err)
{
    shared_block *b = s->shared;
    if (b->cap < s->shared_need) {
        /* nothing in the block outlives a run: the old contents can go */
        free(b->p);
        b->cap = 0;
        b->p = aligned_alloc(64, s->shared_need);
        if (!b->p) return rc_fail(err, RC_ERR_NOMEM, "out of memory for buffers");
        b->cap = s->shared_need;
    }
    if (s->bound == b->p) return RC_OK;
    for (int i = 0; i < s->nstor; i++) s->stor[i] = (float *)((char *)b->p + s->stor_off[i]);
    bind_values(s);
    s->scratch = s->scratch_bytes ? (char *)b->p + s->scratch_off : NULL;
    s->bound = b->p;
    return RC_OK;
}

/* Plan for `shapes`; with `buffers` false only shapes are checked (load). */
static rc_status plan(nn_session *s, const nn_shape *shapes, bool buffers, rc_error *err)
{
    const nn_model *m = s->m;
    plan_clear(s);
    for (int i = 0; i < m->ninputs; i++) {
        rc_status st = check_input_shape(m, i, &shapes[i], err);
        if (st != RC_OK) return st;
    }
    s->v = calloc((size_t)m->nvalues + 1, sizeof *s->v);
    s->steps = calloc((size_t)m->nnodes + 1, sizeof *s->steps);
    if (!s->v || !s->steps) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < m->nvalues; i++) {
        plan_value *p = &s->v[i];
        p->root = i;
        p->parent = -1;
        p->storage = -1;
        p->last_use = -1;
        if (m->values[i].is_const) {
            p->t = m->values[i].init;
            p->known = true;
        }
    }
    for (int i = 0; i < m->ninputs; i++) {
        plan_value *p = &s->v[m->inputs[i]];
        p->t.type = NN_F32;
        p->t.shape = shapes[i];
    }
    rc_error e = {0};
    rc_status st = plan_nodes(s, &e);
    if (st == RC_OK)
        for (int i = 0; i < m->noutputs; i++)
            if (s->v[m->outputs[i]].t.type != NN_F32) {
                st = rc_fail(&e, RC_ERR_UNSUPPORTED, "output '%s' is not a float tensor",
                             m->values[m->outputs[i]].name);
                break;
            }
    if (st == RC_OK && buffers) st = plan_bands(s, &e);
    if (st == RC_OK && buffers) {
        place_concats(s);
        st = plan_memory(s, &e);
    }
    if (st != RC_OK) {
        plan_clear(s);
        /* a size the graph cannot take (constants built for the declared
         * size, such as a detector's priors): say so first */
        for (int i = 0; st == RC_ERR_INVALID && i < m->ninputs; i++) {
            const nn_shape *want = &m->input_shapes[i];
            bool differs = false;
            for (int k = 0; k < want->ndim && k < shapes[i].ndim; k++)
                differs |= want->d[k] >= 0 && want->d[k] != shapes[i].d[k];
            if (!differs) continue;
            char a[128], b[128];
            nn_shape_format(&shapes[i], a, sizeof a);
            nn_shape_format(want, b, sizeof b);
            return rc_fail(err, st,
                           "%s: input '%s' of shape %s does not fit this model (made for %s): %s",
                           m->name, m->values[m->inputs[i]].name, a, b, e.msg);
        }
        return rc_fail(err, st, "%s: %s", m->name, e.msg);
    }
    memcpy(s->shapes, shapes, (size_t)m->ninputs * sizeof *shapes);
    s->planned = buffers;
    return RC_OK;
}

rc_status nn_model_validate(const nn_model *m, rc_error *err)
{
    nn_shape *shapes = calloc((size_t)m->ninputs, sizeof *shapes);
    if (!shapes) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    bool complete = true;
    for (int i = 0; i < m->ninputs; i++) {
        shapes[i] = m->input_shapes[i];
        if (shapes[i].ndim == 0) complete = false;
        if (shapes[i].ndim > 0 && shapes[i].d[0] < 0) shapes[i].d[0] = 1;
        for (int k = 0; k < shapes[i].ndim; k++)
            if (shapes[i].d[k] < 0) complete = false;
    }
    rc_status st = RC_OK;
    if (complete) {
        nn_session *s;
        st = nn_session_create(m, &s, err);
        if (st == RC_OK) {
            rc_error e = {0};
            st = plan(s, shapes, false, &e);
            /* strip "name: " (the loader adds it again) */
            if (st != RC_OK) {
                size_t l = strlen(m->name);
                const char *msg = strncmp(e.msg, m->name, l) == 0 ? e.msg + l + 2 : e.msg;
                rc_fail(err, st, "%s", msg);
            }
            nn_session_free(s);
        }
    }
    free(shapes);
    return st;
}

rc_status nn_session_run(nn_session *s, const float *const *inputs, const nn_shape *shapes,
                         rc_error *err)
{
    const nn_model *m = s->m;
    bool same = s->planned;
    for (int i = 0; same && i < m->ninputs; i++) same = nn_shape_eq(&s->shapes[i], &shapes[i]);
    if (!same) {
        rc_status st = plan(s, shapes, true, err);
        if (st != RC_OK) return st;
    }
    if (s->shared) {
        rc_status st = bind_shared(s, err);
        if (st != RC_OK) return st;
    }
    for (int i = 0; i < m->ninputs; i++) {
        if (!inputs[i]) return rc_fail(err, RC_ERR_INVALID, "%s: input %d is NULL", m->name, i);
        s->v[m->inputs[i]].t.data = (void *)inputs[i];
    }
#if defined(__x86_64__)
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040); /* FTZ | DAZ: denormals would slow kernels down 100x */
#endif
    for (int i = 0; i < s->nsteps; i++) {
        const nn_node *n = &m->nodes[s->steps[i]];
        /* the model's node records are read once a run, and the other
         * networks of a pipeline push them out of the caches in between:
         * the record two steps on and the argument lists of the next one,
         * ahead of use (~1% of a face frame waited on them) */
        if (i + 2 < s->nsteps)
            for (size_t b = 0; b < sizeof *n; b += 64)
                __builtin_prefetch((const char *)&m->nodes[s->steps[i + 2]] + b);
        if (i + 1 < s->nsteps) {
            const nn_node *next = &m->nodes[s->steps[i + 1]];
            __builtin_prefetch(next->in);
            __builtin_prefetch(next->out);
        }
        if (n->def->alias) {
            for (int k = 0; k < n->nout; k++) s->v[n->out[k]].t.data = s->v[n->in[0]].t.data;
            continue;
        }
        if (s->step && s->step[i].kind == STEP_BAND_HEAD) continue; /* the next step runs it */
        for (int k = 0; k < n->nin; k++) s->tin[k] = n->in[k] >= 0 ? &s->v[n->in[k]].t : NULL;
        for (int k = 0; k < n->nout; k++) s->tout[k] = &s->v[n->out[k]].t;
        nn_ctx c = {.node = n,
                    .opset = m->opset,
                    .in = s->tin,
                    .nin = n->nin,
                    .out = s->tout,
                    .nout = n->nout,
                    .scratch = s->scratch,
                    .reference = s->reference,
                    .int8 = s->int8,
                    .bf16 = s->bf16,
                    .range = s->range && strcmp(n->op_type, "Conv") == 0
                                 ? s->range + 2 * s->steps[i]
                                 : NULL,
                    .err = err};
        double t0 = s->node_ms ? rc_thread_cpu_ms() : 0;
        if (s->step && s->step[i].kind == STEP_BAND_TAIL) {
            /* the chain's calls: its earlier steps' and this one's */
            int nb = s->step[i].band.n;
            nn_tensor *bin[NN_BAND_MAX][3], *bout[NN_BAND_MAX][1];
            nn_ctx bc[NN_BAND_MAX];
            const nn_ctx *calls[NN_BAND_MAX];
            for (int k = 0; k < nb; k++) {
                const nn_node *a = &m->nodes[s->steps[i - nb + 1 + k]];
                for (int q = 0; q < a->nin && q < 3; q++)
                    bin[k][q] = a->in[q] >= 0 ? &s->v[a->in[q]].t : NULL;
                bout[k][0] = &s->v[a->out[0]].t;
                bc[k] = c;
                bc[k].node = a;
                bc[k].in = bin[k];
                bc[k].nin = a->nin;
                bc[k].out = bout[k];
                bc[k].nout = 1;
                bc[k].range = NULL;
                calls[k] = &bc[k];
            }
            if (!nn_band_run(&s->step[i].band, calls)) {
#if defined(__x86_64__)
                _mm_setcsr(csr);
#endif
                return rc_fail(err, RC_ERR_INTERNAL, "%s: the row bands ending in %s did not run",
                               m->name, n->name);
            }
        } else {
            n->def->run(&c);
        }
        if (s->node_ms) s->node_ms[s->steps[i]] += rc_thread_cpu_ms() - t0;
    }
#if defined(__x86_64__)
    _mm_setcsr(csr);
#endif
    if (s->range) s->calib_runs++;
    return RC_OK;
}

const float *nn_session_output(const nn_session *s, int i, nn_shape *shape)
{
    if (!s->planned || i < 0 || i >= s->m->noutputs) return NULL;
    const nn_tensor *t = &s->v[s->m->outputs[i]].t;
    if (shape) *shape = t->shape;
    return t->data;
}

rc_status nn_session_profile(nn_session *s, int enable, rc_error *err)
{
    free(s->node_ms);
    s->node_ms = NULL;
    if (!enable) return RC_OK;
    s->node_ms = calloc((size_t)s->m->nnodes + 1, sizeof *s->node_ms);
    return s->node_ms ? RC_OK : rc_fail(err, RC_ERR_NOMEM, "out of memory");
}

int nn_session_profile_report(const nn_session *s, int i, const char **name, const char **op,
                              double *ms, nn_shape *in, nn_shape *out)
{
    if (!s->node_ms || i < 0 || i >= s->m->nnodes || s->m->nodes[i].dead) return 0;
    *name = s->m->nodes[i].name;
    *op = s->m->nodes[i].op_type;
    *ms = s->node_ms[i];
    const nn_node *n = &s->m->nodes[i];
    if (in) *in = n->nin > 0 && n->in[0] >= 0 ? s->v[n->in[0]].t.shape : (nn_shape){0};
    if (out) *out = s->v[n->out[0]].t.shape;
    return 1;
}

/* Multiply-adds of node i alone at the planned shapes. */
static int64_t node_macs(const nn_session *s, const nn_node *n)
{
    if (n->dead || n->nin < 2 || n->in[0] < 0 || n->in[1] < 0) return 0;
    const nn_shape *x = &s->v[n->in[0]].t.shape, *w = &s->v[n->in[1]].t.shape;
    const nn_shape *y = &s->v[n->out[0]].t.shape;
    int64_t ny = 1, nx = 1;
    for (int k = 0; k < y->ndim; k++) ny *= y->d[k];
    for (int k = 0; k < x->ndim; k++) nx *= x->d[k];
    if (strcmp(n->op_type, "Conv") == 0 && w->ndim == 4) /* each output: C/group x KH x KW */
        return ny * w->d[1] * w->d[2] * w->d[3];
    if (strcmp(n->op_type, "ConvTranspose") == 0 &&
        w->ndim == 4) /* each input: M/group x KH x KW */
        return nx * w->d[1] * w->d[2] * w->d[3];
    if (strcmp(n->op_type, "MatMul") == 0 && x->ndim >= 1) return ny * x->d[x->ndim - 1];
    if (strcmp(n->op_type, "Gemm") == 0 && x->ndim == 2)
        return ny * (nn_attr_int(n, "transA", 0) ? x->d[0] : x->d[1]);
    return 0;
}

int64_t nn_session_node_macs(const nn_session *s, int i)
{
    if (!s->planned || i < 0 || i >= s->m->nnodes || s->m->nodes[i].dead) return 0;
    /* counted where the profile counts the time: a chain run in row bands
     * on its last node */
    for (int j = 0; j < s->nsteps; j++) {
        if (s->steps[j] != i) continue;
        if (!s->step || s->step[j].kind == STEP_PLAIN) break;
        if (s->step[j].kind == STEP_BAND_HEAD) return 0;
        int64_t sum = 0;
        for (int k = j - s->step[j].band.n + 1; k <= j; k++)
            sum += node_macs(s, &s->m->nodes[s->steps[k]]);
        return sum;
    }
    return node_macs(s, &s->m->nodes[i]);
}

rc_status nn_session_calibrate(nn_session *s, int enable, rc_error *err)
{
    if ((s->range != NULL) != (enable != 0)) s->planned = false; /* plan_bands */
    free(s->range);
    s->range = NULL;
    s->calib_runs = 0;
    if (!enable) return RC_OK;
    s->range = malloc(((size_t)s->m->nnodes + 1) * 2 * sizeof *s->range);
    if (!s->range) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (int i = 0; i <= s->m->nnodes; i++) {
        s->range[2 * i] = INFINITY;
        s->range[2 * i + 1] = -INFINITY;
    }
    return RC_OK;
}

rc_status nn_session_calibration_save(const nn_session *s, const char *path, const char *comment,
                                      rc_error *err)
{
    if (!s->range || s->calib_runs == 0)
        return rc_fail(err, RC_ERR_INVALID, "%s: no calibration run to save", s->m->name);
    FILE *f = fopen(path, "w");
    if (!f) return rc_fail(err, RC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    fprintf(f, "# int8 ranges of %s's convolution inputs (%d runs)\n", s->m->name, s->calib_runs);
    if (comment) fprintf(f, "# %s\n", comment);
    for (int i = 0; i < s->m->nnodes; i++) {
        const nn_node *n = &s->m->nodes[i];
        if (n->dead || strcmp(n->op_type, "Conv") != 0 || !(s->range[2 * i] <= s->range[2 * i + 1]))
            continue;
        fprintf(f, "%s %.9g %.9g\n", s->m->values[n->out[0]].name, s->range[2 * i],
                s->range[2 * i + 1]);
    }
    if (fclose(f) != 0)
        return rc_fail(err, RC_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return RC_OK;
}
