/*
 * ops.c — the operator table: every supported ONNX operator, by name, with
 * its shape inference and kernel (defined in ops_elem.c, ops_tensor.c and
 * ops_nn.c), plus the helpers operators use to read node attributes.
 */
#include <string.h>

#include "nn_internal.h"
#include "ops.h"

static const nn_op_def *const tables[] = {nn_ops_elem, nn_ops_tensor, nn_ops_nn};

const nn_op_def *nn_op_find(const char *op_type)
{
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const nn_op_def *d = tables[t]; d->name; d++)
            if (strcmp(d->name, op_type) == 0) return d;
    return NULL;
}

const nn_attr *nn_attr_get(const nn_node *n, const char *name)
{
    for (int i = 0; i < n->nattrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0) return &n->attrs[i];
    return NULL;
}

int64_t nn_attr_int(const nn_node *n, const char *name, int64_t def)
{
    const nn_attr *a = nn_attr_get(n, name);
    return a && a->type == 2 ? a->i : def;
}

float nn_attr_float(const nn_node *n, const char *name, float def)
{
    const nn_attr *a = nn_attr_get(n, name);
    if (a && a->type == 1) return a->f;
    if (a && a->type == 2) return (float)a->i;
    return def;
}

const char *nn_attr_str(const nn_node *n, const char *name, const char *def)
{
    const nn_attr *a = nn_attr_get(n, name);
    return a && a->type == 3 && a->s ? a->s : def;
}

size_t nn_attr_ints(const nn_node *n, const char *name, const int64_t **v)
{
    const nn_attr *a = nn_attr_get(n, name);
    if (!a || a->type != 7) {
        *v = NULL;
        return 0;
    }
    *v = a->ints;
    return a->n;
}
