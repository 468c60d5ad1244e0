/*
 * load.c — turn an .onnx file into an nn_model: parse the protobuf (C code
 * generated from onnx.proto by protoc-c at build time), copy initializers
 * and attributes into plain structs, check that every node's operator is
 * supported and every input is defined before use, then apply the load-time
 * rewrites (fuse.c) and plan once with the declared input shapes so that a
 * model which cannot run fails here, with a message naming the node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_internal.h"
#include "onnx.pb-c.h"

/* Files larger than this are refused before parsing (2 GiB is protobuf's own
 * limit; the largest default model is 28 MB). */
#define NN_MAX_FILE ((size_t)1 << 31)

static char *dup_str(const char *s)
{
    return strdup(s ? s : "");
}

static rc_status tensor_from_proto(const Onnx__TensorProto *tp, const char *what, nn_tensor *t,
                                   rc_error *err)
{
    memset(t, 0, sizeof *t);
    const char *name = tp->name && tp->name[0] ? tp->name : what;
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return rc_fail(err, RC_ERR_UNSUPPORTED,
                       "tensor '%s' keeps its data in an external file; save the model with "
                       "its weights inside the .onnx file",
                       name);
    if (tp->n_dims > NN_MAX_DIMS)
        return rc_fail(err, RC_ERR_UNSUPPORTED, "tensor '%s' has %zu dimensions (at most %d)", name,
                       tp->n_dims, NN_MAX_DIMS);
    t->shape.ndim = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++) t->shape.d[i] = tp->dims[i];
    if (nn_shape_check(NULL, &t->shape, NULL) != RC_OK)
        return rc_fail(err, RC_ERR_CORRUPT, "tensor '%s' has a negative or absurd shape", name);
    int64_t n = nn_shape_count(&t->shape);
    const uint8_t *raw = tp->has_raw_data ? tp->raw_data.data : NULL;
    size_t rawlen = tp->has_raw_data ? tp->raw_data.len : 0;
    size_t esz;
    switch (tp->data_type) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT:
        esz = 4;
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64:
        esz = 8;
        break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
        esz = 4;
        break;
    default:
        return rc_fail(err, RC_ERR_UNSUPPORTED,
                       "tensor '%s' has element type %d; only float, double, int32 and int64 "
                       "are supported",
                       name, (int)tp->data_type);
    }
    size_t have;
    if (raw)
        have = rawlen / esz;
    else if (tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
        have = tp->n_float_data;
    else if (tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE)
        have = tp->n_double_data;
    else if (tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64)
        have = tp->n_int64_data;
    else
        have = tp->n_int32_data;
    if ((raw && rawlen != (size_t)n * esz) || have != (size_t)n)
        return rc_fail(err, RC_ERR_CORRUPT,
                       "tensor '%s' holds %zu values but its shape needs %lld (truncated file?)",
                       name, have, (long long)n);
    bool is_float = tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT ||
                    tp->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
    t->type = is_float ? NN_F32 : NN_I64;
    t->data = malloc(n ? (size_t)n * nn_dtype_size(t->type) : 1);
    if (!t->data) return rc_fail(err, RC_ERR_NOMEM, "out of memory loading tensor '%s'", name);
    for (int64_t i = 0; i < n; i++) {
        switch (tp->data_type) {
        case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: {
            float v;
            if (raw)
                memcpy(&v, raw + i * 4, 4);
            else
                v = tp->float_data[i];
            ((float *)t->data)[i] = v;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: {
            double v;
            if (raw)
                memcpy(&v, raw + i * 8, 8);
            else
                v = tp->double_data[i];
            ((float *)t->data)[i] = (float)v;
            break;
        }
        case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: {
            int64_t v;
            if (raw)
                memcpy(&v, raw + i * 8, 8);
            else
                v = tp->int64_data[i];
            ((int64_t *)t->data)[i] = v;
            break;
        }
        default: {
            int32_t v;
            if (raw)
                memcpy(&v, raw + i * 4, 4);
            else
                v = tp->int32_data[i];
            ((int64_t *)t->data)[i] = v;
            break;
        }
        }
    }
    if (t->type == NN_F32) nn_flush_denormals(t->data, n);
    return RC_OK;
}

/* Find a value by name (linear; models have at most a few thousand). */
static int find_value(const nn_model *m, const char *name)
{
    for (int i = m->nvalues - 1; i >= 0; i--)
        if (strcmp(m->values[i].name, name) == 0) return i;
    return -1;
}

static int add_value(nn_model *m, const char *name)
{
    if (m->nvalues == m->cvalues) {
        int cap = m->cvalues ? m->cvalues * 2 : 64;
        nn_value *v = realloc(m->values, (size_t)cap * sizeof *v);
        if (!v) return -1;
        m->values = v;
        m->cvalues = cap;
    }
    nn_value *v = &m->values[m->nvalues];
    memset(v, 0, sizeof *v);
    v->name = dup_str(name);
    if (!v->name) return -1;
    v->producer = -1;
    return m->nvalues++;
}

int nn_model_add_const(nn_model *m, const char *name, nn_tensor t)
{
    int id = add_value(m, name);
    if (id < 0) return -1;
    m->values[id].is_const = true;
    m->values[id].init = t;
    return id;
}

static rc_status attr_from_proto(const Onnx__AttributeProto *ap, const char *node, nn_attr *a,
                                 rc_error *err)
{
    memset(a, 0, sizeof *a);
    a->name = dup_str(ap->name);
    if (!a->name) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    int type = ap->type;
    if (type == 0) { /* old exporters leave the type out */
        if (ap->n_ints)
            type = 7;
        else if (ap->n_floats)
            type = 6;
        else if (ap->t)
            type = 4;
        else if (ap->has_s)
            type = 3;
        else if (ap->has_f)
            type = 1;
        else
            type = 2;
    }
    a->type = type;
    a->f = ap->f;
    a->i = ap->i;
    switch (type) {
    case 1:
    case 2:
        break;
    case 3:
        a->s = malloc(ap->s.len + 1);
        if (!a->s) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        if (ap->s.len) memcpy(a->s, ap->s.data, ap->s.len);
        a->s[ap->s.len] = 0;
        break;
    case 4:
        if (!ap->t)
            return rc_fail(err, RC_ERR_CORRUPT, "node '%s': attribute '%s' has no tensor", node,
                           a->name);
        return tensor_from_proto(ap->t, a->name, &a->t, err);
    case 6:
        a->n = ap->n_floats;
        a->floats = malloc(a->n * sizeof(float) + 1);
        if (!a->floats) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        if (a->n) memcpy(a->floats, ap->floats, a->n * sizeof(float));
        break;
    case 7:
        a->n = ap->n_ints;
        a->ints = malloc(a->n * sizeof(int64_t) + 1);
        if (!a->ints) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        if (a->n) memcpy(a->ints, ap->ints, a->n * sizeof(int64_t));
        break;
    default:
        break; /* graphs, strings lists: kept as "present", ops that need them refuse */
    }
    return RC_OK;
}

static rc_status load_node(nn_model *m, const Onnx__NodeProto *np, int index, rc_error *err)
{
    nn_node *n = &m->nodes[index];
    memset(n, 0, sizeof *n);
    char fallback[32];
    snprintf(fallback, sizeof fallback, "#%d", index);
    n->name = dup_str(np->name && np->name[0] ? np->name : fallback);
    n->op_type = dup_str(np->op_type);
    if (!n->name || !n->op_type) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    if (np->domain && np->domain[0] && strcmp(np->domain, "ai.onnx") != 0)
        return rc_fail(err, RC_ERR_UNSUPPORTED,
                       "node '%s': operator '%s' from domain '%s' is not supported", n->name,
                       n->op_type, np->domain);
    n->def = nn_op_find(n->op_type);
    if (!n->def)
        return rc_fail(err, RC_ERR_UNSUPPORTED, "node '%s': operator '%s' is not supported",
                       n->name, n->op_type);
    if ((int)np->n_input < n->def->min_in || (int)np->n_input > n->def->max_in ||
        (int)np->n_output < n->def->min_out || (int)np->n_output > n->def->max_out)
        return rc_fail(err, RC_ERR_CORRUPT, "node '%s' (%s) has %zu inputs and %zu outputs",
                       n->name, n->op_type, np->n_input, np->n_output);
    n->nin = (int)np->n_input;
    n->nout = (int)np->n_output;
    n->in = calloc((size_t)n->nin + 1, sizeof *n->in);
    n->out = calloc((size_t)n->nout + 1, sizeof *n->out);
    n->attrs = calloc(np->n_attribute + 1, sizeof *n->attrs);
    if (!n->in || !n->out || !n->attrs) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < np->n_attribute; i++) {
        rc_status st = attr_from_proto(np->attribute[i], n->name, &n->attrs[i], err);
        n->nattrs = (int)i + 1;
        if (st != RC_OK) return st;
    }
    for (int i = 0; i < n->nin; i++) {
        const char *vn = np->input[i];
        if (!vn || !vn[0]) {
            /* an empty name omits an optional input; required ones must be there */
            if (i < n->def->min_in)
                return rc_fail(err, RC_ERR_CORRUPT, "node '%s' (%s): required input %d is empty",
                               n->name, n->op_type, i + 1);
            n->in[i] = -1;
            continue;
        }
        int id = find_value(m, vn);
        if (id < 0)
            return rc_fail(err, RC_ERR_CORRUPT,
                           "node '%s' (%s) reads '%s', which no earlier node or input defines",
                           n->name, n->op_type, vn);
        n->in[i] = id;
        m->values[id].uses++;
    }
    for (int i = 0; i < n->nout; i++) {
        const char *vn = np->output[i];
        int id = add_value(m, vn && vn[0] ? vn : "");
        if (id < 0) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        m->values[id].producer = index;
        n->out[i] = id;
    }
    n->act = NN_ACT_NONE;
    return RC_OK;
}

static rc_status build_model(nn_model *m, const Onnx__ModelProto *mp, rc_error *err)
{
    const Onnx__GraphProto *g = mp->graph;
    if (!g) return rc_fail(err, RC_ERR_CORRUPT, "the file has no graph");
    m->opset = 0;
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const char *d = mp->opset_import[i]->domain;
        if (!d || !d[0] || strcmp(d, "ai.onnx") == 0) m->opset = (int)mp->opset_import[i]->version;
    }
    if (m->opset == 0) m->opset = 9; /* very old files omit it */
    if (m->opset < 7 || m->opset > 21)
        return rc_fail(err, RC_ERR_UNSUPPORTED, "opset %d is not supported (7 to 21 are)",
                       m->opset);

    for (size_t i = 0; i < g->n_initializer; i++) {
        nn_tensor t;
        rc_status st = tensor_from_proto(g->initializer[i], "initializer", &t, err);
        if (st != RC_OK) return st;
        if (nn_model_add_const(m, g->initializer[i]->name, t) < 0) {
            free(t.data);
            return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        }
    }
    /* Real inputs are graph inputs that no initializer provides. */
    m->inputs = calloc(g->n_input + 1, sizeof *m->inputs);
    m->input_shapes = calloc(g->n_input + 1, sizeof *m->input_shapes);
    if (!m->inputs || !m->input_shapes) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < g->n_input; i++) {
        const Onnx__ValueInfoProto *vi = g->input[i];
        if (!vi->name || find_value(m, vi->name) >= 0) continue;
        int id = add_value(m, vi->name);
        if (id < 0) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        nn_shape s = {0};
        const Onnx__TypeProto *tp = vi->type;
        if (tp && tp->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE && tp->tensor_type) {
            if (tp->tensor_type->has_elem_type &&
                tp->tensor_type->elem_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT)
                return rc_fail(err, RC_ERR_UNSUPPORTED,
                               "input '%s' has element type %d; only float inputs are supported",
                               vi->name, (int)tp->tensor_type->elem_type);
            const Onnx__TensorShapeProto *sp = tp->tensor_type->shape;
            if (sp) {
                if (sp->n_dim > NN_MAX_DIMS)
                    return rc_fail(err, RC_ERR_UNSUPPORTED, "input '%s' has %zu dimensions",
                                   vi->name, sp->n_dim);
                s.ndim = (int)sp->n_dim;
                for (size_t k = 0; k < sp->n_dim; k++) {
                    const Onnx__TensorShapeProto__Dimension *d = sp->dim[k];
                    s.d[k] = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                                 ? d->dim_value
                                 : -1;
                    if (s.d[k] < -1 || s.d[k] > NN_MAX_ELEMS)
                        return rc_fail(err, RC_ERR_CORRUPT, "input '%s' has an absurd shape",
                                       vi->name);
                    if (s.d[k] == 0) s.d[k] = -1;
                }
            }
        }
        m->input_shapes[m->ninputs] = s;
        m->inputs[m->ninputs++] = id;
    }
    if (m->ninputs == 0) return rc_fail(err, RC_ERR_CORRUPT, "the graph has no inputs");

    m->nodes = calloc(g->n_node + 1, sizeof *m->nodes);
    if (!m->nodes) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < g->n_node; i++) {
        m->nnodes = (int)i + 1;
        rc_status st = load_node(m, g->node[i], (int)i, err);
        if (st != RC_OK) return st;
    }
    if (g->n_output == 0) return rc_fail(err, RC_ERR_CORRUPT, "the graph has no outputs");
    m->outputs = calloc(g->n_output, sizeof *m->outputs);
    if (!m->outputs) return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < g->n_output; i++) {
        const char *on = g->output[i]->name;
        int id = on ? find_value(m, on) : -1;
        if (id < 0)
            return rc_fail(err, RC_ERR_CORRUPT, "graph output '%s' is not produced by any node",
                           on ? on : "");
        m->outputs[m->noutputs++] = id;
        m->values[id].uses++; /* keeps it out of fusions */
    }
    return RC_OK;
}

void nn_model_free(nn_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->nnodes; i++) {
        nn_node *n = &m->nodes[i];
        for (int k = 0; k < n->nattrs; k++) {
            nn_attr *a = &n->attrs[k];
            free(a->name);
            free(a->ints);
            free(a->floats);
            free(a->s);
            free(a->t.data);
        }
        free(n->attrs);
        nn_q8_free(n->q8);
        nn_bf16_free(n->bf16);
        if (!m->weights) {
            free(n->wpack);
            free(n->wino);
            free(n->pre_affine);
        }
        free(n->in);
        free(n->out);
        free(n->name);
        free(n->op_type);
    }
    for (int i = 0; i < m->nvalues; i++) {
        free(m->values[i].name);
        if (!m->weights) free(m->values[i].init.data);
    }
    free(m->weights);
    free(m->nodes);
    free(m->values);
    free(m->inputs);
    free(m->input_shapes);
    free(m->outputs);
    free(m->name);
    free(m);
}

/* Plans once with the declared shapes (plan.c). */
rc_status nn_model_validate(const nn_model *m, rc_error *err);

rc_status nn_model_load_memory(const void *data, size_t len, const char *name, nn_model **out,
                               rc_error *err)
{
    *out = NULL;
    if (!name) name = "model";
    if (!data || len == 0) return rc_fail(err, RC_ERR_CORRUPT, "%s: empty model file", name);
    nn_blas_init();
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, len, data);
    if (!mp)
        return rc_fail(err, RC_ERR_CORRUPT, "%s: not an ONNX model (protobuf parse failed)", name);
    nn_model *m = calloc(1, sizeof *m);
    if (!m) {
        onnx__model_proto__free_unpacked(mp, NULL);
        return rc_fail(err, RC_ERR_NOMEM, "out of memory");
    }
    m->name = dup_str(name);
    rc_error e = {0};
    rc_status st = m->name ? build_model(m, mp, &e) : rc_fail(&e, RC_ERR_NOMEM, "out of memory");
    onnx__model_proto__free_unpacked(mp, NULL);
    if (st == RC_OK) st = nn_fuse(m, &e);
    if (st == RC_OK) st = nn_model_validate(m, &e);
    if (st == RC_OK) st = nn_gather_weights(m, &e);
    if (st != RC_OK) {
        nn_model_free(m);
        return rc_fail(err, st, "%s: %s", name, e.msg);
    }
    *out = m;
    return RC_OK;
}

rc_status nn_model_load(const char *path, nn_model **out, rc_error *err)
{
    *out = NULL;
    unsigned char *buf = NULL;
    size_t len = 0;
    rc_status st = rc_read_file(path, NN_MAX_FILE, &buf, &len, err);
    if (st != RC_OK) return st;
    const char *base = strrchr(path, '/');
    st = nn_model_load_memory(buf, len, base ? base + 1 : path, out, err);
    free(buf);
    return st;
}

int nn_model_num_inputs(const nn_model *m)
{
    return m->ninputs;
}

int nn_model_num_outputs(const nn_model *m)
{
    return m->noutputs;
}

const char *nn_model_input_name(const nn_model *m, int i)
{
    return i >= 0 && i < m->ninputs ? m->values[m->inputs[i]].name : NULL;
}

const char *nn_model_output_name(const nn_model *m, int i)
{
    return i >= 0 && i < m->noutputs ? m->values[m->outputs[i]].name : NULL;
}

nn_shape nn_model_input_shape(const nn_model *m, int i)
{
    nn_shape s = {0};
    if (i >= 0 && i < m->ninputs) s = m->input_shapes[i];
    return s;
}

int nn_model_output_index(const nn_model *m, const char *name)
{
    for (int i = 0; i < m->noutputs; i++)
        if (strcmp(m->values[m->outputs[i]].name, name) == 0) return i;
    return -1;
}

rc_status nn_model_set_outputs(nn_model *m, const char *const *names, int n, rc_error *err)
{
    if (n <= 0) return rc_fail(err, RC_ERR_INVALID, "%s: no outputs asked for", m->name);
    int *ids = calloc((size_t)n, sizeof *ids);
    bool *needed = calloc((size_t)m->nvalues + 1, sizeof *needed);
    rc_status st = ids && needed ? RC_OK : rc_fail(err, RC_ERR_NOMEM, "out of memory");
    for (int k = 0; st == RC_OK && k < n; k++) {
        ids[k] = find_value(m, names[k]);
        bool made = false; /* by a live node: a value fused away has no producer left */
        for (int i = 0; ids[k] >= 0 && i < m->nnodes && !made; i++)
            for (int o = 0; !m->nodes[i].dead && o < m->nodes[i].nout; o++)
                made |= m->nodes[i].out[o] == ids[k];
        if (!made)
            st = rc_fail(err, RC_ERR_NOT_FOUND, "%s: no node computes a value named '%s'", m->name,
                         names[k]);
        else
            needed[ids[k]] = true;
    }
    if (st != RC_OK) {
        free(ids);
        free(needed);
        return st;
    }
    /* Nodes in reverse topological order: one whose outputs nothing needed
     * reads is not run any more, and what it read is no longer read by it. */
    for (int i = m->nnodes - 1; i >= 0; i--) {
        nn_node *nd = &m->nodes[i];
        if (nd->dead) continue;
        bool live = false;
        for (int o = 0; o < nd->nout; o++) live |= nd->out[o] >= 0 && needed[nd->out[o]];
        for (int k = 0; k < nd->nin; k++) {
            if (nd->in[k] < 0) continue;
            if (live)
                needed[nd->in[k]] = true;
            else if (m->values[nd->in[k]].uses > 0)
                m->values[nd->in[k]].uses--;
        }
        nd->dead = !live;
    }
    for (int i = 0; i < m->noutputs; i++) m->values[m->outputs[i]].uses--;
    if (n > m->noutputs) {
        int *no = realloc(m->outputs, (size_t)n * sizeof *no);
        if (!no) {
            free(ids);
            free(needed);
            return rc_fail(err, RC_ERR_NOMEM, "out of memory");
        }
        m->outputs = no;
    }
    for (int k = 0; k < n; k++) {
        m->outputs[k] = ids[k];
        m->values[ids[k]].uses++;
    }
    m->noutputs = n;
    free(ids);
    free(needed);
    return RC_OK;
}

int nn_model_describe(const nn_model *m, char *buf, size_t len)
{
    const char *types[128];
    int counts[128], nt = 0, live = 0;
    for (int i = 0; i < m->nnodes; i++) {
        const nn_node *n = &m->nodes[i];
        if (n->dead) continue;
        live++;
        int k;
        for (k = 0; k < nt; k++)
            if (strcmp(types[k], n->op_type) == 0) break;
        if (k == nt && nt < 128) {
            types[nt] = n->op_type;
            counts[nt++] = 0;
        }
        if (k < nt) counts[k]++;
    }
    size_t o = 0;
    if (len) buf[0] = 0;
    for (int k = 0; k < nt && o < len; k++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s:%d", k ? " " : "", types[k], counts[k]);
    return live;
}

int nn_model_num_nodes(const nn_model *m)
{
    return m->nnodes;
}
