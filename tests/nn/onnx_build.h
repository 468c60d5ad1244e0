/*
 * onnx_build.h — build small ONNX models in memory for the engine's tests:
 * a graph of a few nodes with float inputs, float/int64 initializers and
 * attributes, serialised with the same protobuf-c code the loader uses.
 * Header-only (static functions) so each test program includes it once.
 */
#ifndef RC_TESTS_ONNX_BUILD_H
#define RC_TESTS_ONNX_BUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

/* A graph input (data and idata NULL; dims may be -1) or an initializer. */
typedef struct {
    const char *name;
    int ndim;
    int64_t dims[6];
    const float *data;    /* float initializer */
    const int64_t *idata; /* int64 initializer */
    int64_t count;        /* values actually stored (0: as many as the dims say) */
    int external;         /* mark the data as kept in an external file */
} ob_value;

/* An attribute: set one of the fields; `type` is the ONNX attribute type
 * (1 float, 2 int, 3 string, 6 floats, 7 ints). */
typedef struct {
    const char *name;
    int type;
    float f;
    int64_t i;
    const char *s;
    const int64_t *ints;
    const float *floats;
    size_t n;
} ob_attr;

typedef struct {
    const char *op;
    const char *in[8]; /* NULL ends the list; "" is an omitted optional input */
    const char *out[4];
    ob_attr attrs[8]; /* name NULL ends the list */
} ob_node;

/* Everything allocated while building, freed by ob_free. */
typedef struct {
    void *p[512];
    int n;
} ob_arena;

static void *ob_alloc(ob_arena *a, size_t size)
{
    void *p = calloc(1, size ? size : 1);
    if (a->n < 512) a->p[a->n++] = p;
    return p;
}

static void ob_free(ob_arena *a)
{
    for (int i = 0; i < a->n; i++) free(a->p[i]);
    a->n = 0;
}

static Onnx__TensorProto *ob_tensor(ob_arena *a, const ob_value *v)
{
    Onnx__TensorProto *t = ob_alloc(a, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = (char *)v->name;
    t->n_dims = (size_t)v->ndim;
    t->dims = ob_alloc(a, sizeof(int64_t) * 6);
    int64_t count = 1;
    for (int i = 0; i < v->ndim; i++) {
        t->dims[i] = v->dims[i];
        if (!v->count) count *= v->dims[i];
    }
    if (v->count) count = v->count;
    if (v->external) {
        t->has_data_location = 1;
        t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    }
    t->has_data_type = 1;
    if (v->idata) {
        t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
        t->n_int64_data = (size_t)count;
        t->int64_data = (int64_t *)v->idata;
    } else {
        t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
        t->has_raw_data = 1;
        t->raw_data.len = (size_t)count * 4;
        t->raw_data.data = (uint8_t *)v->data;
    }
    return t;
}

static Onnx__ValueInfoProto *ob_value_info(ob_arena *a, const char *name, int ndim,
                                           const int64_t *dims)
{
    Onnx__ValueInfoProto *vi = ob_alloc(a, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = (char *)name;
    Onnx__TypeProto *tp = ob_alloc(a, sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = ob_alloc(a, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    if (ndim >= 0) {
        Onnx__TensorShapeProto *sp = ob_alloc(a, sizeof *sp);
        onnx__tensor_shape_proto__init(sp);
        sp->n_dim = (size_t)ndim;
        sp->dim = ob_alloc(a, sizeof(void *) * (size_t)(ndim + 1));
        for (int i = 0; i < ndim; i++) {
            Onnx__TensorShapeProto__Dimension *d = ob_alloc(a, sizeof *d);
            onnx__tensor_shape_proto__dimension__init(d);
            if (dims[i] >= 0) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = dims[i];
            } else {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = (char *)"n";
            }
            sp->dim[i] = d;
        }
        tt->shape = sp;
    }
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

/* Serialise a model: `values` are graph inputs and initializers, `outputs`
 * the graph outputs. Returns a malloc'd buffer (caller frees) and its size. */
static uint8_t *ob_build(const ob_value *values, int nvalues, const ob_node *nodes, int nnodes,
                         const char *const *outputs, int noutputs, int opset, size_t *len)
{
    ob_arena a = {0};
    Onnx__GraphProto *g = ob_alloc(&a, sizeof *g);
    onnx__graph_proto__init(g);
    g->name = (char *)"test";
    g->input = ob_alloc(&a, sizeof(void *) * (size_t)(nvalues + 1));
    g->initializer = ob_alloc(&a, sizeof(void *) * (size_t)(nvalues + 1));
    for (int i = 0; i < nvalues; i++) {
        const ob_value *v = &values[i];
        if (v->data || v->idata)
            g->initializer[g->n_initializer++] = ob_tensor(&a, v);
        else
            g->input[g->n_input++] = ob_value_info(&a, v->name, v->ndim, v->dims);
    }
    g->node = ob_alloc(&a, sizeof(void *) * (size_t)(nnodes + 1));
    for (int i = 0; i < nnodes; i++) {
        const ob_node *on = &nodes[i];
        Onnx__NodeProto *n = ob_alloc(&a, sizeof *n);
        onnx__node_proto__init(n);
        n->op_type = (char *)on->op;
        char *name = ob_alloc(&a, 16);
        snprintf(name, 16, "n%d", i);
        n->name = name;
        while (n->n_input < 8 && on->in[n->n_input]) n->n_input++;
        n->input = (char **)on->in;
        while (n->n_output < 4 && on->out[n->n_output]) n->n_output++;
        n->output = (char **)on->out;
        n->attribute = ob_alloc(&a, sizeof(void *) * 9);
        for (int k = 0; k < 8 && on->attrs[k].name; k++) {
            const ob_attr *oa = &on->attrs[k];
            Onnx__AttributeProto *ap = ob_alloc(&a, sizeof *ap);
            onnx__attribute_proto__init(ap);
            ap->name = (char *)oa->name;
            ap->has_type = 1;
            ap->type = (Onnx__AttributeProto__AttributeType)oa->type;
            switch (oa->type) {
            case 1:
                ap->has_f = 1, ap->f = oa->f;
                break;
            case 2:
                ap->has_i = 1, ap->i = oa->i;
                break;
            case 3:
                ap->has_s = 1;
                ap->s.data = (uint8_t *)oa->s;
                ap->s.len = strlen(oa->s);
                break;
            case 6:
                ap->n_floats = oa->n, ap->floats = (float *)oa->floats;
                break;
            case 7:
                ap->n_ints = oa->n, ap->ints = (int64_t *)oa->ints;
                break;
            }
            n->attribute[n->n_attribute++] = ap;
        }
        g->node[g->n_node++] = n;
    }
    g->output = ob_alloc(&a, sizeof(void *) * (size_t)(noutputs + 1));
    for (int i = 0; i < noutputs; i++)
        g->output[g->n_output++] = ob_value_info(&a, outputs[i], -1, NULL);
    Onnx__ModelProto m;
    onnx__model_proto__init(&m);
    m.has_ir_version = 1;
    m.ir_version = 7;
    Onnx__OperatorSetIdProto os;
    onnx__operator_set_id_proto__init(&os);
    os.domain = (char *)"";
    os.has_version = 1;
    os.version = opset;
    Onnx__OperatorSetIdProto *osp = &os;
    m.n_opset_import = 1;
    m.opset_import = &osp;
    m.graph = g;
    *len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(*len + 1);
    onnx__model_proto__pack(&m, buf);
    ob_free(&a);
    return buf;
}

/* Initializers, inputs and attributes in one line each: V (an input),
 * VF / VI (float / int64 initializer), AI / AF / AS / AINTS (attributes). */
#define V(nm, nd, ...)                                                                             \
    {                                                                                              \
        .name = nm, .ndim = nd, .dims = { __VA_ARGS__ }                                            \
    }
#define VF(nm, d, nd, ...)                                                                         \
    {                                                                                              \
        .name = nm, .ndim = nd, .dims = {__VA_ARGS__}, .data = d                                   \
    }
#define VI(nm, d, nd, ...)                                                                         \
    {                                                                                              \
        .name = nm, .ndim = nd, .dims = {__VA_ARGS__}, .idata = d                                  \
    }
#define AI(nm, v)                                                                                  \
    {                                                                                              \
        .name = nm, .type = 2, .i = v                                                              \
    }
#define AF(nm, v)                                                                                  \
    {                                                                                              \
        .name = nm, .type = 1, .f = v                                                              \
    }
#define AS(nm, v)                                                                                  \
    {                                                                                              \
        .name = nm, .type = 3, .s = v                                                              \
    }
#define AINTS(nm, arr)                                                                             \
    {                                                                                              \
        .name = nm, .type = 7, .ints = arr, .n = sizeof arr / sizeof arr[0]                        \
    }

#endif
