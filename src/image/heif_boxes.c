/*
 * heif_boxes.c — what decoding a HEIF file's primary image will cost,
 * read from the file's own boxes before anything is decoded.
 *
 * libheif judges an image by its `ispe` property (the size the file
 * declares) and then decodes the HEVC stream at the size the stream's own
 * sequence parameter set (SPS) gives: a 30 KB file declaring 320x160 could
 * hold a 134-megapixel picture, decoded in full (770 MB, seconds of CPU)
 * before the mismatch showed. Here every HEVC item the primary image is made
 * of (itself, or each tile a grid places, as often as it places it, and its
 * auxiliary images) is read from the boxes: its declared size (`ispe`) and
 * its coded size (the SPS in its `hvcC`). A coded picture larger than its
 * item declares is refused; the sum of the coded areas is what the decode
 * costs and what the caller checks against the pixel limit and the memory
 * budget. Items of another kind (AV1, JPEG, overlays, …) are refused: their
 * cost is not known here.
 *
 * Boxes (ISO/IEC 14496-12, 23008-12): meta (pitm, iinf/infe, iref, iprp:
 * ipco, ipma). SPS: ITU-T H.265 7.3.2.2, up to pic_height_in_luma_samples.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define MAX_ENTRIES        65536 /* items, properties, associations, references */
#define PAD                64    /* a coded size may exceed the declared one by its last CTB */

typedef struct {
    const uint8_t *p;
    size_t n;
} span;

static uint32_t be(const uint8_t *p, int bytes)
{
    uint32_t v = 0;
    for (int i = 0; i < bytes; i++) v = v << 8 | p[i];
    return v;
}

/* Take `bytes` big-endian bytes off the front of s; false when too short. */
static bool take(span *s, int bytes, uint32_t *v)
{
    if (s->n < (size_t)bytes) return false;
    *v = be(s->p, bytes);
    s->p += bytes;
    s->n -= (size_t)bytes;
    return true;
}

/* The next box of s: its type and body (s moves past it); false at the
 * end or on a box that does not fit. */
static bool next_box(span *s, uint32_t *type, span *body)
{
    if (s->n < 8) return false;
    uint64_t size = be(s->p, 4), head = 8;
    *type = be(s->p + 4, 4);
    if (size == 1) {
        if (s->n < 16) return false;
        size = (uint64_t)be(s->p + 8, 4) << 32 | be(s->p + 12, 4);
        head = 16;
    } else if (size == 0) {
        size = s->n;
    }
    if (size < head || size > s->n) return false;
    body->p = s->p + head;
    body->n = (size_t)(size - head);
    s->p += size;
    s->n -= (size_t)size;
    return true;
}

/* A full box's version and flags. */
static bool full_box(span *s, uint32_t *version, uint32_t *flags)
{
    uint32_t vf;
    if (!take(s, 4, &vf)) return false;
    *version = vf >> 24;
    *flags = vf & 0xffffff;
    return true;
}

/* ---- the HEVC sequence parameter set ----------------------------------- */

typedef struct {
    uint8_t rbsp[256]; /* the SPS's first bytes, emulation prevention removed */
    size_t n, bit;
} bits;

static bool bit1(bits *b, uint32_t *v)
{
    if (b->bit >= 8 * b->n) return false;
    *v = b->rbsp[b->bit >> 3] >> (7 - (b->bit & 7)) & 1;
    b->bit++;
    return true;
}

static bool u(bits *b, int k, uint32_t *v)
{
    uint32_t x = 0, one;
    for (int i = 0; i < k; i++) {
        if (!bit1(b, &one)) return false;
        x = x << 1 | one;
    }
    *v = x;
    return true;
}

/* An Exp-Golomb ue(v) of at most 32 bits. */
static bool ue(bits *b, uint32_t *v)
{
    int zeros = 0;
    uint32_t one = 0;
    while (bit1(b, &one) && !one)
        if (++zeros > 31) return false;
    if (!one) return false;
    uint32_t rest;
    if (!u(b, zeros, &rest)) return false;
    *v = (uint32_t)((1ull << zeros) - 1 + rest);
    return true;
}

/* The luma size an SPS NAL unit (with its two-byte header) codes. */
static bool sps_size(const uint8_t *nal, size_t len, uint32_t *w, uint32_t *h)
{
    bits b = {.n = 0};
    int zeros = 0;
    for (size_t i = 2; i < len && b.n < sizeof b.rbsp; i++) {
        if (zeros >= 2 && nal[i] == 3) { /* emulation prevention byte */
            zeros = 0;
            continue;
        }
        zeros = nal[i] ? 0 : zeros + 1;
        b.rbsp[b.n++] = nal[i];
    }
    uint32_t v, sub, chroma, present[8] = {0};
    if (!u(&b, 4, &v) || !u(&b, 3, &sub) || !u(&b, 1, &v)) return false;
    b.bit += 96; /* profile_tier_level's general part */
    for (uint32_t i = 0; i < sub; i++)
        if (!u(&b, 2, &present[i])) return false;
    if (sub > 0) b.bit += 2 * (8 - sub);
    for (uint32_t i = 0; i < sub; i++)
        b.bit += (present[i] & 2 ? 88 : 0) + (present[i] & 1 ? 8 : 0);
    if (!ue(&b, &v) || !ue(&b, &chroma)) return false;
    if (chroma == 3 && !u(&b, 1, &v)) return false;
    return ue(&b, w) && ue(&b, h) && *w > 0 && *h > 0;
}

/* The coded size in an hvcC box's SPS (the first one). */
static bool hvcc_size(span s, uint32_t *w, uint32_t *h)
{
    uint32_t arrays, v;
    if (s.n < 23) return false;
    s.p += 22;
    s.n -= 22;
    if (!take(&s, 1, &arrays)) return false;
    for (uint32_t a = 0; a < arrays; a++) {
        uint32_t kind, count;
        if (!take(&s, 1, &kind) || !take(&s, 2, &count)) return false;
        for (uint32_t i = 0; i < count; i++) {
            if (!take(&s, 2, &v) || s.n < v) return false;
            if ((kind & 0x3f) == 33) return sps_size(s.p, v, w, h);
            s.p += v;
            s.n -= v;
        }
    }
    return false;
}

/* ---- items, properties and references ---------------------------------- */

typedef struct {
    uint32_t id, type;
    uint32_t w, h;   /* ispe; 0 when none */
    uint32_t cw, ch; /* the coded size (hvcC); 0 when none */
} item;

typedef struct {
    uint32_t type, from, to; /* one reference from -> to, in order */
} ref;

typedef struct {
    item *items;
    size_t nitems;
    span *props; /* ipco's boxes, with their types in ptype */
    uint32_t *ptype;
    size_t nprops;
    ref *refs;
    size_t nrefs;
    uint32_t primary;
} heif_boxes;

static item *item_of(heif_boxes *hb, uint32_t id)
{
    for (size_t i = 0; i < hb->nitems; i++)
        if (hb->items[i].id == id) return &hb->items[i];
    return NULL;
}

/* Grow *arr (elements of `size` bytes) to hold n + 1; false past the cap. */
static bool grow(void **arr, size_t n, size_t size)
{
    if (n >= MAX_ENTRIES) return false;
    if (n & (n - 1) && n) return true; /* capacity doubles at powers of two */
    void *g = realloc(*arr, (n ? 2 * n : 1) * size);
    if (!g) return false;
    *arr = g;
    return true;
}

static bool parse_iinf(heif_boxes *hb, span s)
{
    uint32_t version, flags, count, type;
    if (!full_box(&s, &version, &flags) || !take(&s, version ? 4 : 2, &count)) return false;
    span body;
    while (next_box(&s, &type, &body)) {
        if (type != FOURCC('i', 'n', 'f', 'e')) continue;
        uint32_t v, f, id, prot, itype;
        if (!full_box(&body, &v, &f)) return false;
        if (v < 2) continue; /* no item type: nothing decoded from it */
        if (!take(&body, v == 2 ? 2 : 4, &id) || !take(&body, 2, &prot) || !take(&body, 4, &itype))
            return false;
        if (!grow((void **)&hb->items, hb->nitems, sizeof *hb->items)) return false;
        hb->items[hb->nitems++] = (item){.id = id, .type = itype};
    }
    return true;
}

static bool parse_iref(heif_boxes *hb, span s)
{
    uint32_t version, flags, type;
    if (!full_box(&s, &version, &flags)) return false;
    int idb = version ? 4 : 2;
    span body;
    while (next_box(&s, &type, &body)) {
        uint32_t from, count, to;
        if (!take(&body, idb, &from) || !take(&body, 2, &count)) return false;
        for (uint32_t i = 0; i < count; i++) {
            if (!take(&body, idb, &to)) return false;
            if (!grow((void **)&hb->refs, hb->nrefs, sizeof *hb->refs)) return false;
            hb->refs[hb->nrefs++] = (ref){type, from, to};
        }
    }
    return true;
}

static bool parse_ipco(heif_boxes *hb, span s)
{
    uint32_t type;
    span body;
    while (next_box(&s, &type, &body)) {
        if (!grow((void **)&hb->props, hb->nprops, sizeof *hb->props) ||
            !grow((void **)&hb->ptype, hb->nprops, sizeof *hb->ptype))
            return false;
        hb->props[hb->nprops] = body;
        hb->ptype[hb->nprops++] = type;
    }
    return true;
}

/* ipma: each item's properties (1-based indexes into ipco) give its ispe
 * and the coded size of its hvcC. */
static bool parse_ipma(heif_boxes *hb, span s)
{
    uint32_t version, flags, count;
    if (!full_box(&s, &version, &flags) || !take(&s, 4, &count)) return false;
    for (uint32_t e = 0; e < count; e++) {
        uint32_t id, n, a;
        if (!take(&s, version < 1 ? 2 : 4, &id) || !take(&s, 1, &n)) return false;
        item *it = item_of(hb, id);
        for (uint32_t k = 0; k < n; k++) {
            if (!take(&s, flags & 1 ? 2 : 1, &a)) return false;
            uint32_t idx = a & (flags & 1 ? 0x7fff : 0x7f);
            if (!it || idx == 0 || idx > hb->nprops) continue;
            span p = hb->props[idx - 1];
            uint32_t t = hb->ptype[idx - 1], v, f, w, h;
            if (t == FOURCC('i', 's', 'p', 'e')) {
                if (!full_box(&p, &v, &f) || !take(&p, 4, &w) || !take(&p, 4, &h)) return false;
                it->w = w;
                it->h = h;
            } else if (t == FOURCC('h', 'v', 'c', 'C') && !hvcc_size(p, &it->cw, &it->ch)) {
                it->cw = it->ch = 0;
            }
        }
    }
    return true;
}

static bool parse_meta(heif_boxes *hb, span s)
{
    uint32_t version, flags, type, v, f;
    if (!full_box(&s, &version, &flags)) return false;
    span body, iprp = {0};
    bool ok = true;
    while (ok && next_box(&s, &type, &body)) {
        if (type == FOURCC('p', 'i', 't', 'm'))
            ok = full_box(&body, &v, &f) && take(&body, v ? 4 : 2, &hb->primary);
        else if (type == FOURCC('i', 'i', 'n', 'f'))
            ok = parse_iinf(hb, body);
        else if (type == FOURCC('i', 'r', 'e', 'f'))
            ok = parse_iref(hb, body);
        else if (type == FOURCC('i', 'p', 'r', 'p'))
            iprp = body;
    }
    /* Properties after the items they describe are known. */
    span ipma[8];
    int nipma = 0;
    while (ok && next_box(&iprp, &type, &body)) {
        if (type == FOURCC('i', 'p', 'c', 'o'))
            ok = parse_ipco(hb, body);
        else if (type == FOURCC('i', 'p', 'm', 'a') && nipma < 8)
            ipma[nipma++] = body;
    }
    for (int i = 0; ok && i < nipma; i++) ok = parse_ipma(hb, ipma[i]);
    return ok;
}

/* One coded picture: add its area to *coded after checking it against what
 * its item declares. */
static rc_status count_coded(const item *it, uint64_t *coded, rc_error *err)
{
    if (it->type != FOURCC('h', 'v', 'c', '1'))
        return rc_fail(err, RC_ERR_UNSUPPORTED,
                       "HEIF images coded as '%c%c%c%c' are not supported (HEVC only)",
                       (char)(it->type >> 24), (char)(it->type >> 16), (char)(it->type >> 8),
                       (char)it->type);
    if (!it->w || !it->h || !it->cw || !it->ch)
        return rc_fail(err, RC_ERR_CORRUPT, "corrupt HEIF: an image without its size");
    if ((uint64_t)it->cw > (uint64_t)it->w + PAD || (uint64_t)it->ch > (uint64_t)it->h + PAD)
        return rc_fail(err, RC_ERR_CORRUPT,
                       "corrupt HEIF: a picture coded at %ux%u is declared as %ux%u", it->cw,
                       it->ch, it->w, it->h);
    *coded += (uint64_t)it->cw * it->ch;
    return RC_OK;
}

/* The primary image (or an auxiliary one): itself, or its grid's tiles. */
static rc_status count_image(heif_boxes *hb, const item *it, uint64_t *coded, rc_error *err)
{
    if (it->type != FOURCC('g', 'r', 'i', 'd')) return count_coded(it, coded, err);
    size_t tiles = 0;
    for (size_t i = 0; i < hb->nrefs; i++) {
        const ref *r = &hb->refs[i];
        if (r->type != FOURCC('d', 'i', 'm', 'g') || r->from != it->id) continue;
        const item *t = item_of(hb, r->to);
        if (!t) return rc_fail(err, RC_ERR_CORRUPT, "corrupt HEIF: a grid tile is missing");
        rc_status st = count_coded(t, coded, err);
        if (st != RC_OK) return st;
        tiles++;
    }
    if (!tiles) return rc_fail(err, RC_ERR_CORRUPT, "corrupt HEIF: a grid without tiles");
    return RC_OK;
}

rc_status img__heif_coded(const void *data, size_t len, uint64_t *coded, rc_error *err)
{
    *coded = 0;
    heif_boxes hb = {0};
    span s = {data, len}, body;
    uint32_t type;
    bool ok = false;
    while (next_box(&s, &type, &body))
        if (type == FOURCC('m', 'e', 't', 'a')) {
            ok = parse_meta(&hb, body);
            break;
        }
    rc_status st = RC_OK;
    const item *primary = ok ? item_of(&hb, hb.primary) : NULL;
    if (!primary)
        st = rc_fail(err, RC_ERR_CORRUPT, "corrupt HEIF: no readable primary image");
    else
        st = count_image(&hb, primary, coded, err);
    /* Its auxiliary images (alpha, depth) are decoded with it. */
    for (size_t i = 0; st == RC_OK && i < hb.nrefs; i++) {
        const ref *r = &hb.refs[i];
        const item *aux = r->type == FOURCC('a', 'u', 'x', 'l') && r->to == hb.primary
                              ? item_of(&hb, r->from)
                              : NULL;
        if (aux) st = count_image(&hb, aux, coded, err);
    }
    free(hb.items);
    free(hb.props);
    free(hb.ptype);
    free(hb.refs);
    return st;
}
