/*
 * test_store.c — the store's behaviour, the same cases on both backends:
 * SQLite by default, PostgreSQL when ROLLCALL_TEST_DB is set (meson runs this
 * binary a second time under tests/lib/pg.sh, which starts a private server).
 * Covers migrations, every record kind, filters and paging, the person delete
 * that must take faces with it, audit entries, bad input, concurrent writers,
 * backup, and durability of acknowledged events across SIGKILL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "../lib/testdb.h"
#include "store/store.h"

#define OK(expr)                                                                                   \
    do {                                                                                           \
        rc_error e_;                                                                               \
        rc_status s_ = (expr);                                                                     \
        if (s_ != RC_OK) fail_msg("%s: %s (%s)", #expr, e_.msg, rc_status_name(s_));               \
    } while (0)
/* The macro above needs the error passed in: tests write OK(f(..., &e_)). */

static int setup(void **state)
{
    testdb *t = calloc(1, sizeof *t);
    if (!t || !testdb_open(t)) {
        free(t);
        return -1;
    }
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    testdb *t = *state;
    testdb_free(t);
    free(t);
    return 0;
}

static store *S(void **state)
{
    return ((testdb *)*state)->s;
}

static int64_t add_person(store *s, const char *ext, const char *name)
{
    store_person p = {.active = 1};
    snprintf(p.external_id, sizeof p.external_id, "%s", ext);
    snprintf(p.name, sizeof p.name, "%s", name);
    rc_error e_;
    rc_status st = store_person_create(s, &p, &e_);
    if (st != RC_OK) fail_msg("person_create: %s", e_.msg);
    return p.id;
}

static void migrations_are_applied_once_and_listed(void **state)
{
    testdb *t = *state;
    store_migration *m;
    size_t n;
    OK(store_migrations(t->s, &m, &n, &e_));
    assert_true(n >= 1);
    for (size_t i = 0; i < n; i++) assert_true(m[i].applied_ms > 0);
    assert_int_equal(m[0].version, 1);
    free(m);
    int applied = -1;
    OK(store_migrate(t->s, &applied, &e_));
    assert_int_equal(applied, 0);
    /* Reopening keeps the data and applies nothing. */
    int64_t id = add_person(t->s, "S1", "Ada");
    store_close(t->s);
    t->s = NULL;
    OK(store_open(t->url, 0, &t->s, &e_));
    store_person p;
    OK(store_person_get(t->s, id, &p, &e_));
    assert_string_equal(p.name, "Ada");
}

static void fresh_database_without_migrate_shows_pending(void **state)
{
    (void)state;
    testdb t2;
    assert_int_equal(testdb_prepare(&t2), 0);
    OK(store_open(t2.url, STORE_OPEN_NO_MIGRATE, &t2.s, &e_));
    store_migration *m;
    size_t n;
    OK(store_migrations(t2.s, &m, &n, &e_));
    assert_true(n >= 1);
    assert_int_equal(m[0].applied_ms, 0);
    free(m);
    int applied = 0;
    OK(store_migrate(t2.s, &applied, &e_));
    assert_int_equal((size_t)applied, n);
    testdb_free(&t2);
    /* The main fixture's database must be reset again for other cases. */
    if (testdb_is_pg()) {
        testdb *t = *state;
        store_close(t->s);
        assert_int_equal(testdb_reset_pg(t->url), 0);
        OK(store_open(t->url, 0, &t->s, &e_));
    }
}

static void persons_crud_filters_and_paging(void **state)
{
    store *s = S(state);
    rc_error err;
    int64_t a = add_person(s, "S001", "Zoe Brown");
    int64_t b = add_person(s, "S002", "adam Smith");
    int64_t c = add_person(s, "", "Carla 100% Real");
    add_person(s, "", "No Code Either"); /* empty external ids do not clash */
    store_person p = {.active = 1};
    snprintf(p.name, sizeof p.name, "Dup");
    snprintf(p.external_id, sizeof p.external_id, "S001");
    assert_int_equal(store_person_create(s, &p, &err), RC_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "S001"));
    p.name[0] = p.first_name[0] = p.last_name[0] = 0;
    p.external_id[0] = 0;
    assert_int_equal(store_person_create(s, &p, &err), RC_ERR_INVALID);

    store_person *list;
    size_t n;
    int64_t total;
    OK(store_person_list(s, NULL, (store_page){0}, &list, &n, &total, &e_));
    assert_int_equal(n, 4);
    assert_int_equal(total, 4);
    assert_string_equal(list[0].name, "Carla 100% Real"); /* ordered by name */
    free(list);
    /* Case-insensitive search over name, code and email; % is literal. */
    store_person_filter f = {.query = "SMITH"};
    OK(store_person_list(s, &f, (store_page){0}, &list, &n, &total, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, b);
    free(list);
    f.query = "0%";
    OK(store_person_list(s, &f, (store_page){0}, &list, &n, &total, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, c);
    free(list);
    f.query = "s00";
    OK(store_person_list(s, &f, (store_page){.limit = 1, .offset = 1}, &list, &n, &total, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(total, 2);
    assert_int_equal(list[0].id, b); /* byte order: "Zoe" before "adam" */
    free(list);

    OK(store_person_get(s, a, &p, &e_));
    p.active = 0;
    snprintf(p.email, sizeof p.email, "zoe@example.org");
    OK(store_person_update(s, &p, &e_));
    OK(store_person_get_by_external(s, "S001", &p, &e_));
    assert_string_equal(p.email, "zoe@example.org");
    assert_int_equal(p.active, 0);
    f = (store_person_filter){.active_only = 1};
    OK(store_person_list(s, &f, (store_page){0}, &list, &n, &total, &e_));
    assert_int_equal(n, 3);
    free(list);
    assert_int_equal(store_person_get(s, 99999, &p, &err), RC_ERR_NOT_FOUND);
    assert_int_equal(store_person_get_by_external(s, "nope", &p, &err), RC_ERR_NOT_FOUND);
    p.id = 99999;
    assert_int_equal(store_person_update(s, &p, &err), RC_ERR_NOT_FOUND);
}

/* How many people a search finds (their ids' sum into *ids when given). */
static size_t found(store *s, const char *q, int64_t *ids)
{
    store_person_filter f = {.query = q};
    store_person *list;
    size_t n;
    int64_t total;
    OK(store_person_list(s, &f, (store_page){0}, &list, &n, &total, &e_));
    if (ids) *ids = 0;
    for (size_t i = 0; ids && i < n; i++) *ids += list[i].id;
    free(list);
    return n;
}

/* A code typed at a kiosk in another case finds its person, exactly one:
 * an exact match first, none when two differ only in case. */
static void a_code_is_found_in_any_case(void **state)
{
    store *s = S(state);
    rc_error err;
    int64_t a = add_person(s, "A002", "Ana Dos");
    store_person p;
    OK(store_person_get_by_code(s, "a002", &p, &e_));
    assert_int_equal(p.id, a);
    int64_t b = add_person(s, "b7", "Bea Siete"), b2 = add_person(s, "B7", "Bruno Siete");
    OK(store_person_get_by_code(s, "B7", &p, &e_));
    assert_int_equal(p.id, b2);
    OK(store_person_get_by_code(s, "b7", &p, &e_));
    assert_int_equal(p.id, b);
    assert_int_equal(store_person_get_by_code(s, "nobody", &p, &err), RC_ERR_NOT_FOUND);
    add_person(s, "Cx", "Carla");
    add_person(s, "cX", "Celia");
    assert_int_equal(store_person_get_by_code(s, "CX", &p, &err), RC_ERR_NOT_FOUND); /* which? */
}

/* Names are searched however they are typed: without accents or tildes, in
 * any case, accented capitals included (SQLite's lower() folds ASCII only);
 * the key follows an edit. */
static void people_are_found_without_accents_or_case(void **state)
{
    store *s = S(state);
    int64_t a = add_person(s, "B-101", "Íñigo Núñez Peña");
    add_person(s, "B-102", "Pedro Uno");
    int64_t ids;
    const char *hits[] = {"nunez", "NÚÑEZ", "Núñez", "íñigo", "ÍÑIGO", "inigo nu", "pena", "b-10"};
    for (size_t i = 0; i < sizeof hits / sizeof hits[0]; i++) {
        assert_int_equal(found(s, hits[i], &ids), i == 7 ? 2 : 1);
        if (i < 7) assert_int_equal(ids, a);
    }
    assert_int_equal(found(s, "nunes", NULL), 0);
    store_person p;
    OK(store_person_get(s, a, &p, &e_));
    snprintf(p.name, sizeof p.name, "Íñigo Álvarez");
    snprintf(p.first_name, sizeof p.first_name, "Íñigo");
    snprintf(p.last_name, sizeof p.last_name, "Álvarez");
    snprintf(p.email, sizeof p.email, "Inigo.Alvarez@Example.org");
    OK(store_person_update(s, &p, &e_));
    assert_int_equal(found(s, "alvarez", &ids), 1);
    assert_int_equal(ids, a);
    assert_int_equal(found(s, "inigo.alvarez@example", NULL), 1);
    assert_int_equal(found(s, "nunez", NULL), 0);
}

static void groups_and_membership(void **state)
{
    store *s = S(state);
    rc_error err;
    int64_t a = add_person(s, "A", "Ann"), b = add_person(s, "B", "Bob");
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "Class 7B");
    OK(store_group_create(s, &g, &e_));
    store_group dup = g;
    assert_int_equal(store_group_create(s, &dup, &err), RC_ERR_CONFLICT);
    OK(store_group_add_member(s, g.id, a, &e_));
    OK(store_group_add_member(s, g.id, a, &e_)); /* twice is fine */
    OK(store_group_add_member(s, g.id, b, &e_));
    assert_int_equal(store_group_add_member(s, g.id, 4242, &err), RC_ERR_NOT_FOUND);
    int64_t *ids;
    size_t n;
    OK(store_group_members(s, g.id, &ids, &n, &e_));
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], a);
    assert_int_equal(ids[1], b);
    free(ids);
    store_group got;
    OK(store_group_get(s, g.id, &got, &e_));
    assert_int_equal(got.member_count, 2);
    OK(store_group_remove_member(s, g.id, a, &e_));
    OK(store_person_groups(s, a, &ids, &n, &e_));
    assert_int_equal(n, 0);
    free(ids);
    store_person_filter f = {.group_id = g.id};
    store_person *list;
    OK(store_person_list(s, &f, (store_page){0}, &list, &n, NULL, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(list[0].id, b);
    free(list);
    OK(store_group_delete(s, g.id, &e_));
    assert_int_equal(store_group_get(s, g.id, &got, &err), RC_ERR_NOT_FOUND);
    OK(store_person_get(s, b, &(store_person){0}, &e_)); /* members stay */
}

static void faces_round_trip_into_the_gallery(void **state)
{
    store *s = S(state);
    rc_error err;
    int64_t a = add_person(s, "A", "Ann");
    int64_t v0;
    OK(store_gallery_version(s, &v0, &e_));
    float emb[512];
    for (int i = 0; i < 512; i++) emb[i] = (float)i / 1000.0f - 0.25f;
    emb[7] = 1e-40f; /* a denormal survives exactly */
    unsigned char jpeg[300];
    for (size_t i = 0; i < sizeof jpeg; i++) jpeg[i] = (unsigned char)(i * 7);
    jpeg[0] = 0xff;
    jpeg[1] = 0xd8;
    jpeg[50] = 0; /* binary, with NUL bytes */
    store_face f = {.person_id = a, .quality = 0.8, .dim = 512};
    snprintf(f.model, sizeof f.model, "fr_feature");
    OK(store_face_add(s, &f, emb, jpeg, sizeof jpeg, &e_));
    store_face f2 = f;
    emb[0] = 0.5f;
    OK(store_face_add(s, &f2, emb, NULL, 0, &e_));
    int64_t v1;
    OK(store_gallery_version(s, &v1, &e_));
    assert_true(v1 >= v0 + 2);

    store_gallery g;
    OK(store_gallery_load(s, "fr_feature", &g, &e_));
    assert_int_equal(g.count, 2);
    assert_int_equal(g.dim, 512);
    assert_int_equal(g.version, v1);
    assert_int_equal(g.face_ids[0], f.id);
    assert_int_equal(g.person_ids[1], a);
    assert_true(g.vectors[0] == -0.25f);
    assert_true(g.vectors[512] == 0.5f);
    assert_true(g.vectors[7] == 1e-40f);
    assert_true(g.vectors[511] == emb[511]);
    store_gallery_free(&g);
    OK(store_gallery_load(s, "other_model", &g, &e_));
    assert_int_equal(g.count, 0);
    store_gallery_free(&g);

    unsigned char *img;
    size_t len;
    OK(store_face_image(s, f.id, &img, &len, &e_));
    assert_int_equal(len, sizeof jpeg);
    assert_memory_equal(img, jpeg, sizeof jpeg);
    free(img);
    assert_int_equal(store_face_image(s, f2.id, &img, &len, &err), RC_ERR_NOT_FOUND);

    /* Inactive persons drop out of the gallery. */
    store_person p;
    OK(store_person_get(s, a, &p, &e_));
    p.active = 0;
    OK(store_person_update(s, &p, &e_));
    OK(store_gallery_load(s, NULL, &g, &e_));
    assert_int_equal(g.count, 0);
    assert_true(g.version > v1);
    store_gallery_free(&g);

    /* Bad input is refused with a reason. */
    store_face bad = f;
    bad.dim = 0;
    assert_int_equal(store_face_add(s, &bad, emb, NULL, 0, &err), RC_ERR_INVALID);
    bad.dim = STORE_EMBED_MAX + 1;
    assert_int_equal(store_face_add(s, &bad, emb, NULL, 0, &err), RC_ERR_INVALID);
    bad = f;
    emb[3] = 0.0f / 0.0f;
    assert_int_equal(store_face_add(s, &bad, emb, NULL, 0, &err), RC_ERR_INVALID);
    emb[3] = 0;
    bad.person_id = 777777;
    assert_int_equal(store_face_add(s, &bad, emb, NULL, 0, &err), RC_ERR_NOT_FOUND);
    bad = f;
    bad.model[0] = 0;
    assert_int_equal(store_face_add(s, &bad, emb, NULL, 0, &err), RC_ERR_INVALID);
    bad = f;
    assert_int_equal(store_face_add(s, &bad, emb, jpeg, (size_t)STORE_IMAGE_MAX + 1, &err),
                     RC_ERR_LIMIT); /* refused before the (short) buffer is read */

    OK(store_face_delete(s, f2.id, "admin@example.org", &e_));
    store_face *faces;
    size_t n;
    OK(store_face_list(s, a, &faces, &n, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(faces[0].id, f.id);
    free(faces);
    assert_int_equal(store_face_delete(s, f2.id, "x", &err), RC_ERR_NOT_FOUND);

    /* A person without a photo gets their first face as it, and nothing
     * else of the record is written: an edit made since the caller last
     * read the person stays (the photo was set by reading the whole record
     * and writing it back, which could undo a concurrent edit). */
    OK(store_person_get(s, a, &p, &e_));
    p.photo_face_id = 0;
    OK(store_person_update(s, &p, &e_));
    store_person edited = p;
    snprintf(edited.last_name, sizeof edited.last_name, "Edited");
    OK(store_person_update(s, &edited, &e_));
    OK(store_person_photo_fallback(s, a, &e_));
    OK(store_person_get(s, a, &p, &e_));
    assert_int_equal(p.photo_face_id, f.id);
    assert_string_equal(p.last_name, "Edited");
    store_face f3 = f;
    OK(store_face_add(s, &f3, emb, jpeg, 100, &e_));
    OK(store_person_photo_fallback(s, a, &e_)); /* has a photo: kept */
    OK(store_person_get(s, a, &p, &e_));
    assert_int_equal(p.photo_face_id, f.id);
    int64_t nobody = add_person(s, "NOFACE-1", "No Face");
    OK(store_person_photo_fallback(s, nobody, &e_)); /* no face: none */
    OK(store_person_get(s, nobody, &p, &e_));
    assert_int_equal(p.photo_face_id, 0);
}

static void deleting_a_person_removes_faces_and_is_audited(void **state)
{
    store *s = S(state);
    rc_error err;
    int64_t a = add_person(s, "GONE-1", "Gone Person"), b = add_person(s, "STAY", "Stay");
    float emb[128] = {0.25f};
    store_face f = {.person_id = a, .dim = 128};
    snprintf(f.model, sizeof f.model, "m");
    OK(store_face_add(s, &f, emb, "jpegdata", 8, &e_));
    store_face fb = f;
    OK(store_face_add(s, &fb, emb, "jpeg", 4, &e_));
    store_face fc = {.person_id = b, .dim = 128};
    snprintf(fc.model, sizeof fc.model, "m");
    OK(store_face_add(s, &fc, emb, NULL, 0, &e_));
    store_event ev = {.person_id = a, .ts_ms = 1000};
    snprintf(ev.kind, sizeof ev.kind, "entry");
    snprintf(ev.slot_day, sizeof ev.slot_day, "2026-01-05");
    OK(store_event_insert(s, &ev, &e_));
    store_sighting sg = {.ts_ms = 5, .candidate_person_id = a, .confidence = 0.4};
    OK(store_sighting_add(s, &sg, "face", 4, &e_));
    store_sighting other = {.ts_ms = 6, .candidate_person_id = b};
    OK(store_sighting_add(s, &other, "face", 4, &e_));

    OK(store_person_delete(s, a, "admin@example.org", &e_));
    unsigned char *simg;
    size_t slen;
    assert_int_equal(store_sighting_image(s, sg.id, &simg, &slen, &err), RC_ERR_NOT_FOUND);
    OK(store_sighting_image(s, other.id, &simg, &slen, &e_));
    free(simg);
    assert_int_equal(store_person_get(s, a, &(store_person){0}, &err), RC_ERR_NOT_FOUND);
    unsigned char *img;
    size_t len;
    assert_int_equal(store_face_image(s, f.id, &img, &len, &err), RC_ERR_NOT_FOUND);
    store_gallery g;
    OK(store_gallery_load(s, NULL, &g, &e_));
    assert_int_equal(g.count, 1);
    assert_int_equal(g.person_ids[0], b);
    store_gallery_free(&g);
    assert_int_equal(store_event_get(s, ev.id, &ev, &err), RC_ERR_NOT_FOUND);

    store_audit *au;
    size_t n;
    int64_t total;
    OK(store_audit_list(s, "person", a, (store_page){0}, &au, &n, &total, &e_));
    assert_int_equal(n, 1);
    assert_string_equal(au[0].action, "person.erase");
    assert_string_equal(au[0].actor, "admin@example.org");
    /* What was erased, per kind, and nothing of the person. */
    assert_non_null(strstr(au[0].detail, "\"faces\":2"));
    assert_non_null(strstr(au[0].detail, "\"events\":1"));
    assert_non_null(strstr(au[0].detail, "\"sightings\":1"));
    assert_null(strstr(au[0].detail, "GONE-1"));
    assert_null(strstr(au[0].detail, "Gone"));
    assert_null(strstr(au[0].detail, "embedding"));
    free(au);
    assert_int_equal(store_person_delete(s, a, "x", &err), RC_ERR_NOT_FOUND);
}

static void users_sessions_keys_and_lockout(void **state)
{
    store *s = S(state);
    rc_error err;
    store_role *roles;
    size_t n;
    OK(store_role_list(s, &roles, &n, &e_));
    assert_int_equal(n, 6); /* admin, auditor, device, manager, member, metrics */
    free(roles);
    store_user u = {.active = 1};
    snprintf(u.email, sizeof u.email, "boss@example.org");
    snprintf(u.role, sizeof u.role, "admin");
    snprintf(u.pass_hash, sizeof u.pass_hash, "$argon2id$v=19$m=65536,t=2,p=1$salt$hash");
    OK(store_user_create(s, &u, &e_));
    store_user dup = u;
    assert_int_equal(store_user_create(s, &dup, &err), RC_ERR_CONFLICT);
    snprintf(dup.email, sizeof dup.email, "other@example.org");
    snprintf(dup.role, sizeof dup.role, "emperor");
    assert_int_equal(store_user_create(s, &dup, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "emperor"));
    snprintf(dup.email, sizeof dup.email, "not-an-email");
    assert_int_equal(store_user_create(s, &dup, &err), RC_ERR_INVALID);
    store_user got;
    OK(store_user_get_by_email(s, "boss@example.org", &got, &e_));
    assert_int_equal(got.id, u.id);
    assert_string_equal(got.pass_hash, u.pass_hash);
    snprintf(got.role, sizeof got.role, "member");
    OK(store_user_update(s, &got, &e_));
    OK(store_user_get(s, u.id, &got, &e_));
    assert_string_equal(got.role, "member");

    store_session se = {.user_id = u.id, .created_ms = 1000, .expires_ms = 5000};
    snprintf(se.token_hash, sizeof se.token_hash, "abc123");
    snprintf(se.csrf, sizeof se.csrf, "csrf-token");
    OK(store_session_create(s, &se, &e_));
    store_session gs;
    OK(store_session_get(s, "abc123", 4999, &gs, &e_));
    assert_string_equal(gs.csrf, "csrf-token");
    assert_int_equal(store_session_get(s, "abc123", 5000, &gs, &err), RC_ERR_NOT_FOUND);
    int64_t removed = 0;
    OK(store_session_purge(s, 6000, &removed, &e_));
    assert_int_equal(removed, 1);

    store_api_key k = {0};
    snprintf(k.name, sizeof k.name, "kiosk 1");
    snprintf(k.prefix, sizeof k.prefix, "rk_abcd");
    snprintf(k.key_hash, sizeof k.key_hash, "hash");
    snprintf(k.role, sizeof k.role, "device");
    OK(store_api_key_create(s, &k, &e_));
    OK(store_api_key_touch(s, k.id, 12345, &e_));
    OK(store_api_key_revoke(s, k.id, &e_));
    store_api_key gk;
    OK(store_api_key_get_by_prefix(s, "rk_abcd", &gk, &e_));
    assert_int_equal(gk.revoked, 1);
    assert_int_equal(gk.last_used_ms, 12345);
    assert_int_equal(store_api_key_revoke(s, 999, &err), RC_ERR_NOT_FOUND);

    for (int i = 0; i < 3; i++)
        OK(store_login_failure_add(s, "boss@example.org", "10.0.0.9", 100 + i, &e_));
    int64_t cnt = 0;
    OK(store_login_failure_count(s, "boss@example.org", NULL, 101, &cnt, &e_));
    assert_int_equal(cnt, 2);
    OK(store_login_failure_clear(s, "boss@example.org", NULL, &e_));
    OK(store_login_failure_count(s, "boss@example.org", NULL, 0, &cnt, &e_));
    assert_int_equal(cnt, 0);

    OK(store_session_create(s, &se, &e_));
    OK(store_session_delete_user(s, u.id, &e_));
    assert_int_equal(store_session_get(s, "abc123", 0, &gs, &err), RC_ERR_NOT_FOUND);
    store_session bad = se;
    bad.user_id = 424242;
    assert_int_equal(store_session_create(s, &bad, &err), RC_ERR_NOT_FOUND);

    /* Deleting the user ends its sessions. */
    OK(store_session_create(s, &se, &e_));
    OK(store_user_delete(s, u.id, &e_));
    assert_int_equal(store_session_get(s, "abc123", 0, &gs, &err), RC_ERR_NOT_FOUND);
}

/* A timetable written whole or not at all, never with two slots at once
 * (a night slot runs into the next day, Saturday's into Sunday's). */
static void timetables_are_written_whole_without_overlaps(void **state)
{
    store *s = S(state);
    rc_error err;
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "Shifts");
    OK(store_group_create(s, &g, &e_));
    store_schedule night = {.dow = 6, .start_min = 22 * 60, .end_min = 6 * 60};
    store_schedule two[2] = {{.dow = 1, .start_min = 360, .end_min = 840},
                             {.dow = 1, .start_min = 840, .end_min = 1320}};
    OK(store_schedules_write(s, 0, g.id, 0, &night, 1, NULL, &e_));
    OK(store_schedules_write(s, 0, g.id, 0, two, 2, NULL, &e_));
    assert_true(night.id > 0 && two[0].id > 0 && two[1].id > 0);
    store_schedule sunday = {.dow = 0, .start_min = 300, .end_min = 420}, clash[2];
    assert_int_equal(store_schedules_write(s, 0, g.id, 0, &sunday, 1, clash, &err),
                     RC_ERR_CONFLICT);
    assert_int_equal(clash[1].id, night.id);
    /* Moving a kept slot into another: refused, nothing written. */
    store_schedule moved = two[0];
    moved.end_min = 900;
    assert_int_equal(store_schedules_write(s, 0, g.id, 0, &moved, 1, clash, &err), RC_ERR_CONFLICT);
    assert_int_equal(clash[1].id, two[1].id);
    /* Replaced whole: both moved an hour later (which one at a time
     * could not do), the night slot dropped, one added. */
    store_schedule all[3] = {two[0], two[1], {.dow = 2, .start_min = 420, .end_min = 900}};
    all[0].start_min = 420, all[0].end_min = 900;
    all[1].start_min = 900, all[1].end_min = 1380;
    OK(store_schedules_write(s, 0, g.id, 1, all, 3, NULL, &e_));
    store_schedule *got;
    size_t n;
    OK(store_schedule_list(s, 0, g.id, &got, &n, &e_));
    assert_int_equal(n, 3);
    assert_int_equal(got[0].id, two[0].id);
    assert_int_equal(got[0].start_min, 420);
    assert_int_equal(got[1].id, two[1].id);
    assert_int_equal(got[2].id, all[2].id);
    free(got);
    /* Refused whole: an overlap in the list, an id of someone else's. */
    store_group h = {0};
    snprintf(h.name, sizeof h.name, "Office");
    OK(store_group_create(s, &h, &e_));
    store_schedule theirs = {.dow = 3, .start_min = 540, .end_min = 1020};
    OK(store_schedules_write(s, 0, h.id, 0, &theirs, 1, NULL, &e_));
    store_schedule bad[2] = {{.dow = 4, .start_min = 480, .end_min = 720},
                             {.dow = 4, .start_min = 600, .end_min = 780}};
    assert_int_equal(store_schedules_write(s, 0, g.id, 1, bad, 2, NULL, &err), RC_ERR_CONFLICT);
    assert_int_equal(store_schedules_write(s, 0, g.id, 1, &theirs, 1, NULL, &err),
                     RC_ERR_NOT_FOUND);
    OK(store_schedule_list(s, 0, g.id, &got, &n, &e_));
    assert_int_equal(n, 3);
    free(got);
    OK(store_schedules_write(s, 0, g.id, 1, NULL, 0, NULL, &e_));
    OK(store_schedule_list(s, 0, g.id, &got, &n, &e_));
    assert_int_equal(n, 0);
    free(got);
}

/* The slot of list[0..n) with id `id`, or NULL. */
static const store_schedule *slot_by_id(const store_schedule *list, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].id == id) return &list[i];
    return NULL;
}

/* A dated timetable change leaves the days before it alone: a slot in force
 * before the effective day is ended the day before and carried on by a new
 * row; one that begins on or after it is changed in place; overlaps count
 * only between slots whose days meet; the events made for the old row from
 * the effective day on move to the new one. */
static void dated_timetables_split_at_the_effective_day(void **state)
{
    store *s = S(state);
    rc_error err;
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "1A");
    OK(store_group_create(s, &g, &e_));
    int64_t p = add_person(s, "D-1", "Dora");
    store_schedule first[2] = {{.dow = 1, .start_min = 480, .end_min = 540, .label = "Mates"},
                               {.dow = 2, .start_min = 480, .end_min = 540, .label = "Lengua"}};
    OK(store_schedules_write_from(s, 0, g.id, 1, "2026-09-01", first, 2, NULL, &e_));
    assert_string_equal(first[0].valid_from, "2026-09-01");
    assert_string_equal(first[0].valid_to, "");
    /* Begun on the effective day: changed in place, same id. */
    store_schedule fix = first[0];
    fix.grace_min = 5;
    OK(store_schedules_write_from(s, 0, g.id, 0, "2026-09-01", &fix, 1, NULL, &e_));
    assert_int_equal(fix.id, first[0].id);
    int64_t a = first[0].id, b = first[1].id;
    /* Events for Monday's slot in October and in January. */
    store_event oct = {.person_id = p, .ts_ms = 1000, .schedule_id = a};
    snprintf(oct.kind, sizeof oct.kind, "entry");
    snprintf(oct.slot_day, sizeof oct.slot_day, "2026-10-05");
    OK(store_event_insert(s, &oct, &e_));
    store_event jan = oct;
    snprintf(jan.slot_day, sizeof jan.slot_day, "2027-01-11");
    OK(store_event_insert(s, &jan, &e_));

    /* From 2027-01-11 on: Monday moves half an hour, Tuesday stays, a
     * Wednesday slot is added. */
    store_schedule second[3] = {fix, first[1], {.dow = 3, .start_min = 600, .end_min = 660}};
    second[0].start_min = 510, second[0].end_min = 570;
    OK(store_schedules_write_from(s, 0, g.id, 1, "2027-01-11", second, 3, NULL, &e_));
    assert_true(second[0].id != a); /* a new row carries Monday on */
    assert_int_equal(second[1].id, b);
    store_schedule got;
    OK(store_schedule_get(s, a, &got, &e_));
    assert_int_equal(got.start_min, 480); /* the autumn's Monday as it was */
    assert_string_equal(got.valid_from, "2026-09-01");
    assert_string_equal(got.valid_to, "2027-01-10");
    OK(store_schedule_get(s, second[0].id, &got, &e_));
    assert_int_equal(got.start_min, 510);
    assert_int_equal(got.grace_min, 5);
    assert_string_equal(got.valid_from, "2027-01-11");
    assert_string_equal(got.valid_to, "");
    OK(store_schedule_get(s, b, &got, &e_));
    assert_string_equal(got.valid_from, "2026-09-01");
    assert_string_equal(got.valid_to, "");
    assert_true(store_schedule_valid_on(&got, "2026-12-01"));
    OK(store_schedule_get(s, a, &got, &e_));
    assert_true(store_schedule_valid_on(&got, "2027-01-10"));
    assert_false(store_schedule_valid_on(&got, "2027-01-11"));
    assert_false(store_schedule_valid_on(&got, "2026-08-31"));
    store_event ge;
    OK(store_event_get(s, oct.id, &ge, &e_));
    assert_int_equal(ge.schedule_id, a);
    OK(store_event_get(s, jan.id, &ge, &e_));
    assert_int_equal(ge.schedule_id, second[0].id);

    /* Listed from a day: what is in force then or later. */
    store_schedule *list;
    size_t n;
    OK(store_schedule_list_from(s, 0, g.id, "2026-12-01", &list, &n, &e_));
    assert_int_equal(n, 4);
    free(list);
    OK(store_schedule_list_from(s, 0, g.id, "2027-02-01", &list, &n, &e_));
    assert_int_equal(n, 3);
    assert_null(slot_by_id(list, n, a));
    free(list);

    /* Overlaps only between slots whose days meet: 08:00-08:20 on Mondays
     * from January clashes with nothing (the 08:00 slot ended); from
     * December it meets the old Monday slot. */
    store_schedule early = {.dow = 1, .start_min = 480, .end_min = 500}, clash[2];
    store_schedule early2 = early;
    assert_int_equal(
        store_schedules_write_from(s, 0, g.id, 0, "2026-12-01", &early2, 1, clash, &err),
        RC_ERR_CONFLICT);
    assert_int_equal(clash[1].id, a);
    OK(store_schedules_write_from(s, 0, g.id, 0, "2027-01-11", &early, 1, NULL, &e_));
    /* A slot that ended before the effective day is not changed. */
    store_schedule stale = {0};
    OK(store_schedule_get(s, a, &stale, &e_));
    stale.grace_min = 9;
    assert_int_equal(store_schedules_write_from(s, 0, g.id, 0, "2027-02-01", &stale, 1, NULL, &err),
                     RC_ERR_INVALID);
    assert_int_equal(
        store_schedules_write_from(s, 0, g.id, 0, "2027-02-30x", &stale, 1, NULL, &err),
        RC_ERR_INVALID);

    /* Ending: a slot in force before the day ends the day before; one
     * that begins on it goes. */
    int removed = -1;
    OK(store_schedule_end(s, b, "2027-03-01", &removed, &e_));
    assert_int_equal(removed, 0);
    OK(store_schedule_get(s, b, &got, &e_));
    assert_string_equal(got.valid_to, "2027-02-28");
    OK(store_schedule_end(s, early.id, "2027-01-11", &removed, &e_));
    assert_int_equal(removed, 1);
    assert_int_equal(store_schedule_get(s, early.id, &got, &err), RC_ERR_NOT_FOUND);
    /* Replaced by nothing from June: the slots in force end on May 31; the
     * history stays. */
    OK(store_schedules_write_from(s, 0, g.id, 1, "2027-06-01", NULL, 0, NULL, &e_));
    OK(store_schedule_list_from(s, 0, g.id, "2027-06-01", &list, &n, &e_));
    assert_int_equal(n, 0);
    free(list);
    OK(store_schedule_list(s, 0, g.id, &list, &n, &e_));
    assert_int_equal(n, 4); /* Monday old and new, Tuesday, Wednesday */
    const store_schedule *wed = slot_by_id(list, n, second[2].id);
    assert_non_null(wed);
    assert_string_equal(wed->valid_from, "2027-01-11");
    assert_string_equal(wed->valid_to, "2027-05-31");
    free(list);
}

static void schedules_holidays_settings_cameras(void **state)
{
    store *s = S(state);
    rc_error err;
    int64_t a = add_person(s, "A", "Ann");
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "G");
    OK(store_group_create(s, &g, &e_));
    OK(store_group_add_member(s, g.id, a, &e_));
    store_schedule own = {
        .person_id = a, .dow = 1, .start_min = 480, .end_min = 600, .grace_min = 5};
    snprintf(own.label, sizeof own.label, "Maths");
    OK(store_schedule_create(s, &own, &e_));
    store_schedule grp = {.group_id = g.id, .dow = 1, .start_min = 420, .end_min = 470};
    OK(store_schedule_create(s, &grp, &e_));
    store_schedule bad = own;
    bad.group_id = g.id;
    assert_int_equal(store_schedule_create(s, &bad, &err), RC_ERR_INVALID);
    bad = own;
    bad.dow = 7;
    assert_int_equal(store_schedule_create(s, &bad, &err), RC_ERR_INVALID);
    bad = own;
    bad.start_min = 1440;
    assert_int_equal(store_schedule_create(s, &bad, &err), RC_ERR_INVALID);
    bad = own;
    bad.person_id = 5555;
    assert_int_equal(store_schedule_create(s, &bad, &err), RC_ERR_NOT_FOUND);
    store_schedule *sc;
    size_t n;
    OK(store_schedules_for_person(s, a, &sc, &n, &e_));
    assert_int_equal(n, 2);
    assert_int_equal(sc[0].id, grp.id); /* by start time */
    assert_string_equal(sc[1].label, "Maths");
    free(sc);
    own.end_min = 610;
    OK(store_schedule_update(s, &own, &e_));
    store_schedule got;
    OK(store_schedule_get(s, own.id, &got, &e_));
    assert_int_equal(got.end_min, 610);

    OK(store_holiday_set(s, "2026-12-25", "Christmas", &e_));
    OK(store_holiday_set(s, "2026-12-25", "Xmas", &e_)); /* upsert */
    OK(store_holiday_set(s, "2027-01-01", "New Year", &e_));
    assert_int_equal(store_holiday_set(s, "2026-13-01", "bad", &err), RC_ERR_INVALID);
    assert_int_equal(store_holiday_set(s, "25.12.2026", "bad", &err), RC_ERR_INVALID);
    store_holiday *h;
    OK(store_holiday_list(s, "2026-01-01", "2026-12-31", &h, &n, &e_));
    assert_int_equal(n, 1);
    assert_string_equal(h[0].name, "Xmas");
    free(h);
    OK(store_holiday_delete(s, "2027-01-01", &e_));
    assert_int_equal(store_holiday_delete(s, "2027-01-01", &err), RC_ERR_NOT_FOUND);

    char buf[64];
    assert_int_equal(store_setting_get(s, "timezone", buf, sizeof buf, &err), RC_ERR_NOT_FOUND);
    OK(store_setting_set(s, "timezone", "Europe/Berlin", &e_));
    OK(store_setting_set(s, "timezone", "America/New_York", &e_));
    OK(store_setting_get(s, "timezone", buf, sizeof buf, &e_));
    assert_string_equal(buf, "America/New_York");
    char tiny[4];
    assert_int_equal(store_setting_get(s, "timezone", tiny, sizeof tiny, &err), RC_ERR_LIMIT);

    store_camera c = {.enabled = 1, .fps = 5};
    snprintf(c.name, sizeof c.name, "Front door");
    snprintf(c.direction, sizeof c.direction, "entry");
    snprintf(c.url, sizeof c.url, "http://10.0.0.5/stream");
    OK(store_camera_create(s, &c, &e_));
    store_camera c2 = c;
    assert_int_equal(store_camera_create(s, &c2, &err), RC_ERR_CONFLICT);
    snprintf(c2.name, sizeof c2.name, "Back");
    snprintf(c2.direction, sizeof c2.direction, "side");
    assert_int_equal(store_camera_create(s, &c2, &err), RC_ERR_INVALID);
    c2.direction[0] = 0; /* defaults to both */
    OK(store_camera_create(s, &c2, &e_));
    store_camera gc;
    OK(store_camera_get(s, c2.id, &gc, &e_));
    assert_string_equal(gc.direction, "both");
    assert_string_equal(gc.kind, "browser");
    store_camera *cams;
    OK(store_camera_list(s, &cams, &n, &e_));
    assert_int_equal(n, 2);
    free(cams);
    OK(store_camera_delete(s, c2.id, &e_));
}

static void events_filters_and_manual_corrections(void **state)
{
    store *s = S(state);
    rc_error err;
    int64_t a = add_person(s, "A", "Ann"), b = add_person(s, "B", "Bob");
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "G");
    OK(store_group_create(s, &g, &e_));
    OK(store_group_add_member(s, g.id, b, &e_));
    store_camera cam = {.enabled = 1};
    snprintf(cam.name, sizeof cam.name, "door");
    OK(store_camera_create(s, &cam, &e_));
    for (int i = 0; i < 10; i++) {
        store_event e = {.person_id = i % 2 ? b : a,
                         .ts_ms = 1000 * (i + 1),
                         .camera_id = i < 5 ? cam.id : 0,
                         .confidence = 0.5 + i / 100.0,
                         .box = {1, 2, 3, 4},
                         .liveness = 0.9};
        snprintf(e.kind, sizeof e.kind, "%s", i < 2 ? "entry" : "exit");
        snprintf(e.slot_day, sizeof e.slot_day, "2026-03-0%d", 1 + i / 5);
        OK(store_event_insert(s, &e, &e_));
        assert_true(e.id > 0);
    }
    store_event *ev;
    size_t n;
    int64_t total;
    store_event_filter f = {.person_id = a};
    OK(store_event_list(s, &f, (store_page){0}, &ev, &n, &total, &e_));
    assert_int_equal(n, 5);
    assert_true(ev[0].ts_ms < ev[1].ts_ms);
    assert_true(ev[0].box[3] == 4.0f);
    assert_int_equal(ev[0].camera_id, cam.id);
    assert_string_equal(ev[0].source, "auto");
    assert_string_equal(ev[0].person_name, "Ann");
    assert_string_equal(ev[0].person_external_id, "A");
    free(ev);
    f = (store_event_filter){.group_id = g.id, .from_ms = 2000, .to_ms = 6000};
    OK(store_event_list(s, &f, (store_page){0}, &ev, &n, &total, &e_));
    assert_int_equal(n, 2); /* b's events at 2000 and 4000 */
    free(ev);
    f = (store_event_filter){.from_day = "2026-03-02", .kind = "exit"};
    OK(store_event_list(s, &f, (store_page){.limit = 2}, &ev, &n, &total, &e_));
    assert_int_equal(n, 2);
    assert_int_equal(total, 5);
    free(ev);
    f = (store_event_filter){.camera_id = cam.id};
    OK(store_event_list(s, &f, (store_page){0}, &ev, &n, &total, &e_));
    assert_int_equal(n, 5);
    free(ev);

    store_event last;
    OK(store_event_latest(s, a, &last, &e_));
    assert_int_equal(last.ts_ms, 9000);

    /* Deleting the camera keeps the events. */
    OK(store_camera_delete(s, cam.id, &e_));
    OK(store_event_get(s, last.id - 8, &last, &e_));
    assert_int_equal(last.camera_id, 0);

    /* Manual: needs a reason; the correction keeps the original in the audit log. */
    store_event m = {.person_id = a, .ts_ms = 50000};
    snprintf(m.kind, sizeof m.kind, "entry");
    snprintf(m.slot_day, sizeof m.slot_day, "2026-03-03");
    assert_int_equal(store_event_manual_add(s, &m, "mgr", &err), RC_ERR_INVALID);
    snprintf(m.reason, sizeof m.reason, "camera down");
    OK(store_event_manual_add(s, &m, "mgr", &e_));
    store_event fixed = m;
    fixed.ts_ms = 45000;
    snprintf(fixed.reason, sizeof fixed.reason, "arrived earlier, seen by teacher");
    OK(store_event_correct(s, &fixed, "mgr2", &e_));
    OK(store_event_get(s, m.id, &last, &e_));
    assert_int_equal(last.ts_ms, 45000);
    assert_string_equal(last.source, "manual");
    store_audit *au;
    OK(store_audit_list(s, "event", m.id, (store_page){0}, &au, &n, &total, &e_));
    assert_int_equal(n, 2);
    assert_string_equal(au[0].action, "event.correct"); /* newest first */
    assert_non_null(strstr(au[0].detail, "\"ts_ms\":50000"));
    assert_non_null(strstr(au[0].detail, "\"ts_ms\":45000"));
    assert_string_equal(au[0].actor, "mgr2");
    free(au);
    assert_int_equal(store_event_remove(s, m.id, "mgr", "", &err), RC_ERR_INVALID);
    OK(store_event_remove(s, m.id, "mgr", "duplicate", &e_));
    assert_int_equal(store_event_get(s, m.id, &last, &err), RC_ERR_NOT_FOUND);

    /* Bad events are refused. */
    store_event bad = {.person_id = a, .ts_ms = 1};
    snprintf(bad.kind, sizeof bad.kind, "lunch");
    snprintf(bad.slot_day, sizeof bad.slot_day, "2026-03-03");
    assert_int_equal(store_event_insert(s, &bad, &err), RC_ERR_INVALID);
    snprintf(bad.kind, sizeof bad.kind, "exit");
    snprintf(bad.slot_day, sizeof bad.slot_day, "yesterday");
    assert_int_equal(store_event_insert(s, &bad, &err), RC_ERR_INVALID);
    snprintf(bad.slot_day, sizeof bad.slot_day, "2026-03-03");
    bad.person_id = 31337;
    assert_int_equal(store_event_insert(s, &bad, &err), RC_ERR_NOT_FOUND);
}

/* An event says who corrected or voided it last, and when: set by a
 * correction and by voiding, kept by the rules' merges (store_event_update),
 * never set by adding; corrected_only lists those events, voided ones with
 * include_void. */
static void events_remember_who_corrected_them(void **state)
{
    store *s = S(state);
    int64_t a = add_person(s, "A", "Ann");
    store_event e = {.person_id = a, .ts_ms = 1000}, m = {.person_id = a, .ts_ms = 3000}, got;
    snprintf(e.kind, sizeof e.kind, "entry");
    snprintf(e.slot_day, sizeof e.slot_day, "2026-03-02");
    OK(store_event_insert(s, &e, &e_));
    snprintf(m.kind, sizeof m.kind, "exit");
    snprintf(m.slot_day, sizeof m.slot_day, "2026-03-02");
    snprintf(m.reason, sizeof m.reason, "camera down");
    OK(store_event_manual_add(s, &m, "user:1", &e_));
    OK(store_event_get(s, m.id, &got, &e_));
    assert_int_equal(got.corrected_ms, 0); /* added by hand is not corrected */
    assert_string_equal(got.corrected_by, "");

    int64_t before = rc_unix_ms();
    got = e;
    got.ts_ms = 900;
    snprintf(got.reason, sizeof got.reason, "earlier");
    OK(store_event_correct(s, &got, "user:7", &e_));
    OK(store_event_get(s, e.id, &got, &e_));
    assert_true(got.corrected_ms >= before && got.corrected_ms <= rc_unix_ms());
    assert_string_equal(got.corrected_by, "user:7");
    int64_t when = got.corrected_ms;
    got.sightings = 4; /* a later sighting merged by the rules */
    OK(store_event_update(s, &got, &e_));
    OK(store_event_get(s, e.id, &got, &e_));
    assert_int_equal(got.sightings, 4);
    assert_int_equal(got.corrected_ms, when);
    assert_string_equal(got.corrected_by, "user:7");

    store_event *ev;
    size_t n;
    int64_t total;
    store_event_filter f = {.person_id = a, .corrected_only = 1};
    OK(store_event_list(s, &f, (store_page){0}, &ev, &n, &total, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(ev[0].id, e.id);
    free(ev);

    OK(store_event_void(s, m.id, "key:3", "wrong person", &e_));
    OK(store_event_get(s, m.id, &got, &e_));
    assert_true(got.corrected_ms >= when);
    assert_string_equal(got.corrected_by, "key:3");
    OK(store_event_list(s, &f, (store_page){0}, &ev, &n, &total, &e_));
    assert_int_equal(n, 1); /* voided ones only with include_void */
    free(ev);
    f.include_void = 1;
    OK(store_event_list(s, &f, (store_page){0}, &ev, &n, &total, &e_));
    assert_int_equal(n, 2);
    free(ev);
}

/* A recognized event remembers the enrolled face that matched best; the
 * reference goes back to none when that face is deleted, and a face deleted
 * before the event is written leaves none rather than losing the event. Its
 * probe (the face as seen) is hidden from review until released, replaced
 * by a better one, and goes with the event. Sightings list per camera. */
static void event_face_and_probe(void **state)
{
    store *s = S(state);
    rc_error err;
    int64_t a = add_person(s, "FACE-1", "Face Owner");
    float emb[128] = {0.5f};
    store_face f = {.person_id = a, .dim = 128}, f2 = {.person_id = a, .dim = 128};
    snprintf(f.model, sizeof f.model, "m");
    snprintf(f2.model, sizeof f2.model, "m");
    OK(store_face_add(s, &f, emb, "jpeg", 4, &e_));
    OK(store_face_add(s, &f2, emb, "jpeg", 4, &e_));
    store_camera cam = {.fps = 1, .enabled = 1};
    snprintf(cam.name, sizeof cam.name, "door");
    snprintf(cam.url, sizeof cam.url, "browser");
    snprintf(cam.kind, sizeof cam.kind, "browser");
    snprintf(cam.direction, sizeof cam.direction, "both");
    OK(store_camera_create(s, &cam, &e_));
    store_event ev = {.person_id = a, .ts_ms = 1000, .face_id = f.id};
    snprintf(ev.kind, sizeof ev.kind, "entry");
    snprintf(ev.slot_day, sizeof ev.slot_day, "2026-01-05");
    OK(store_event_insert(s, &ev, &e_));
    store_event got;
    OK(store_event_get(s, ev.id, &got, &e_));
    assert_int_equal(got.face_id, f.id);
    OK(store_face_delete(s, f.id, "test", &e_));
    OK(store_event_get(s, ev.id, &got, &e_));
    assert_int_equal(got.face_id, 0);
    /* The face went before the event was written: the event stays, faceless. */
    store_event late = ev;
    late.id = 0;
    late.ts_ms = 2000;
    late.face_id = f.id;
    OK(store_event_insert(s, &late, &e_));
    OK(store_event_get(s, late.id, &got, &e_));
    assert_int_equal(got.face_id, 0);
    got.face_id = f2.id;
    OK(store_event_update(s, &got, &e_));
    OK(store_event_get(s, late.id, &got, &e_));
    assert_int_equal(got.face_id, f2.id);

    /* Probes: kept per event, replaced, hidden from review, released. */
    store_sighting review = {.ts_ms = 50, .camera_id = cam.id};
    snprintf(review.reason, sizeof review.reason, "unknown");
    OK(store_sighting_add(s, &review, "jpg0", 4, &e_));
    store_sighting nocam = {.ts_ms = 60};
    snprintf(nocam.reason, sizeof nocam.reason, "unknown");
    OK(store_sighting_add(s, &nocam, "jpg9", 4, &e_));
    store_sighting pr = {.ts_ms = 1000, .camera_id = cam.id, .event_id = ev.id};
    snprintf(pr.reason, sizeof pr.reason, "recognized");
    OK(store_event_probe_set(s, &pr, "jpg1", 4, &e_));
    OK(store_event_probe_set(s, &pr, "jpg22", 5, &e_)); /* replaces jpg1 */
    store_sighting_filter fl = {.camera_id = cam.id};
    store_sighting *list;
    size_t n;
    int64_t total;
    OK(store_sighting_list(s, &fl, (store_page){0}, &list, &n, &total, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(total, 1);
    assert_int_equal(list[0].id, review.id);
    free(list);
    store_sighting one;
    assert_int_equal(store_sighting_get(s, pr.id, &one, &err), RC_ERR_NOT_FOUND);
    assert_int_equal(store_sighting_delete(s, pr.id, &err), RC_ERR_NOT_FOUND);
    unsigned char *img;
    size_t len;
    assert_int_equal(store_sighting_image(s, pr.id, &img, &len, &err), RC_ERR_NOT_FOUND);
    int64_t sid = 0;
    OK(store_event_probe_release(s, ev.id, "corrected", &sid, &e_));
    assert_int_equal(sid, pr.id);
    OK(store_sighting_get(s, sid, &one, &e_));
    assert_string_equal(one.reason, "corrected");
    assert_int_equal(one.event_id, 0);
    assert_int_equal(one.candidate_person_id, 0);
    OK(store_sighting_image(s, sid, &img, &len, &e_));
    assert_int_equal(len, 5);
    assert_memory_equal(img, "jpg22", 5);
    free(img);
    assert_int_equal(store_event_probe_release(s, ev.id, "corrected", &sid, &err),
                     RC_ERR_NOT_FOUND);
    OK(store_sighting_list(s, &fl, (store_page){0}, &list, &n, &total, &e_));
    assert_int_equal(n, 2);
    free(list);
    /* A probe goes with its event. */
    store_sighting pr2 = {.ts_ms = 2000, .event_id = late.id};
    snprintf(pr2.reason, sizeof pr2.reason, "recognized");
    OK(store_event_probe_set(s, &pr2, "jpg3", 4, &e_));
    OK(store_event_remove(s, late.id, "test", "wrong person", &e_));
    assert_int_equal(store_event_probe_release(s, late.id, "corrected", &sid, &err),
                     RC_ERR_NOT_FOUND);
    OK(store_sighting_list(s, NULL, (store_page){0}, &list, &n, &total, &e_));
    assert_int_equal(total, 3);
    free(list);
}

static void sightings_and_audit_limits(void **state)
{
    store *s = S(state);
    rc_error err;
    store_sighting g = {.ts_ms = 100, .confidence = 0.3, .liveness = 0.9};
    snprintf(g.reason, sizeof g.reason, "below_threshold");
    OK(store_sighting_add(s, &g, "\xff\xd8jpeg", 6, &e_));
    store_sighting g2 = {.ts_ms = 200};
    snprintf(g2.reason, sizeof g2.reason, "liveness");
    OK(store_sighting_add(s, &g2, NULL, 0, &e_));
    store_sighting *list;
    size_t n;
    int64_t total;
    OK(store_sighting_list(s, NULL, (store_page){0}, &list, &n, &total, &e_));
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, g2.id); /* newest first */
    assert_int_equal(list[0].has_image, 0);
    assert_int_equal(list[1].has_image, 1);
    free(list);
    unsigned char *img;
    size_t len;
    OK(store_sighting_image(s, g.id, &img, &len, &e_));
    assert_int_equal(len, 6);
    free(img);
    int64_t removed;
    OK(store_sighting_purge(s, 150, &removed, &e_));
    assert_int_equal(removed, 1);

    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_int_equal(store_audit_add(s, "me", "thing", "t", 1, big, &err), RC_ERR_LIMIT);
    assert_int_equal(store_audit_add(s, "me", "", "t", 1, "{}", &err), RC_ERR_INVALID);
    OK(store_audit_add(s, NULL, "settings.change", "", 0, "{\"k\":1}", &e_));
    store_audit *au;
    OK(store_audit_list(s, NULL, 0, (store_page){0}, &au, &n, &total, &e_));
    assert_int_equal(n, 1);
    assert_string_equal(au[0].actor, "system");
    free(au);
    /* Unterminated fixed-size fields are refused, not read past. */
    store_person p;
    memset(&p, 'A', sizeof p);
    assert_int_equal(store_person_create(s, &p, &err), RC_ERR_INVALID);
    /* SQL metacharacters are data, never code. */
    int64_t id = add_person(s, "x'); DROP TABLE persons; --", "Robert'); DROP TABLE persons;--");
    OK(store_person_get(s, id, &p, &e_));
    assert_string_equal(p.external_id, "x'); DROP TABLE persons; --");
}

typedef struct {
    store *s;
    int64_t person;
    int n;
    int failures;
} writer_arg;

static void *writer(void *p)
{
    writer_arg *w = p;
    for (int i = 0; i < w->n; i++) {
        store_event e = {.person_id = w->person, .ts_ms = i};
        snprintf(e.kind, sizeof e.kind, "entry");
        snprintf(e.slot_day, sizeof e.slot_day, "2026-01-01");
        rc_error err;
        if (store_event_insert(w->s, &e, &err) != RC_OK) {
            fprintf(stderr, "writer: %s\n", err.msg);
            w->failures++;
        }
        if (i % 10 == 0) {
            store_event *ev;
            size_t n;
            store_event_filter f = {.person_id = w->person};
            if (store_event_list(w->s, &f, (store_page){.limit = 5}, &ev, &n, NULL, &err) == RC_OK)
                free(ev);
            else
                w->failures++;
        }
    }
    return NULL;
}

static void concurrent_writers_from_threads(void **state)
{
    store *s = S(state);
    enum { T = 8, N = 60 };
    pthread_t th[T];
    writer_arg w[T];
    for (int i = 0; i < T; i++) {
        char ext[16];
        snprintf(ext, sizeof ext, "T%d", i);
        w[i] = (writer_arg){.s = s, .person = add_person(s, ext, ext), .n = N};
        pthread_create(&th[i], NULL, writer, &w[i]);
    }
    for (int i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    int64_t total = 0;
    store_event *ev;
    size_t n;
    OK(store_event_list(s, NULL, (store_page){.limit = 1}, &ev, &n, &total, &e_));
    free(ev);
    assert_int_equal(total, T * N);
}

static void backup_copies_a_consistent_database(void **state)
{
    testdb *t = *state;
    rc_error err;
    add_person(t->s, "B1", "Backed Up");
    char path[400];
    if (testdb_is_pg()) {
        assert_int_equal(store_backup(t->s, "/tmp/x.dump", &err), RC_ERR_UNSUPPORTED);
        assert_non_null(strstr(err.msg, "pg_dump"));
        return;
    }
    snprintf(path, sizeof path, "%s/backup.db", t->dir);
    OK(store_backup(t->s, path, &e_));
    assert_int_equal(store_backup(t->s, path, &err), RC_ERR_CONFLICT); /* never overwrites */
    store *b;
    OK(store_open(path, 0, &b, &e_));
    store_person p;
    OK(store_person_get_by_external(b, "B1", &p, &e_));
    char ok[64];
    OK(store_check(b, ok, sizeof ok, &e_));
    assert_string_equal(ok, "ok");
    store_close(b);
    snprintf(path, sizeof path, "/nonexistent-dir/backup.db");
    assert_int_equal(store_backup(t->s, path, &err), RC_ERR_IO);
}

static void bad_locations_give_clear_errors(void **state)
{
    testdb *t = *state;
    rc_error err;
    store *s = NULL;
    assert_int_equal(
        store_open("postgresql://nobody@/nodb?host=/nonexistent&connect_timeout=2", 0, &s, &err),
        RC_ERR_NET);
    assert_non_null(strstr(err.msg, "PostgreSQL"));
    if (testdb_is_pg()) return;
    /* A file that is not a database. */
    char path[400];
    snprintf(path, sizeof path, "%s/garbage.db", t->dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int i = 0; i < 4096; i++) fputc((i * 131) & 0xff, f);
    fclose(f);
    assert_int_equal(store_open(path, 0, &s, &err), RC_ERR_CORRUPT);
    assert_non_null(strstr(err.msg, "garbage.db"));
    /* A truncated database: a complete copy cut to half its pages. */
    char full[400];
    snprintf(full, sizeof full, "%s/full.db", t->dir);
    OK(store_backup(t->s, full, &e_));
    unsigned char *data;
    size_t len;
    OK(rc_read_file(full, 1 << 26, &data, &len, &e_));
    assert_true(len >= 8192);
    snprintf(path, sizeof path, "%s/cut.db", t->dir);
    f = fopen(path, "wb");
    fwrite(data, 1, (len / 2) & ~(size_t)4095, f);
    fclose(f);
    free(data);
    rc_status st = store_open(path, 0, &s, &err);
    if (st == RC_OK) { /* SQLite may open it; then the check must say it is damaged */
        char buf[256];
        rc_status cs = store_check(s, buf, sizeof buf, &err);
        assert_true(cs != RC_OK || strcmp(buf, "ok") != 0);
        store_close(s);
    } else {
        assert_true(st == RC_ERR_CORRUPT);
    }
    /* A directory where the file should be. */
    assert_int_not_equal(store_open(t->dir, 0, &s, &err), RC_OK);
}

#define WAKE_TIMEOUT_MS 60000

typedef struct {
    store *s;
    int64_t known, seen;
    rc_status st;
    double waited_ms;
} waiter_arg;

static void *waiter(void *p)
{
    waiter_arg *w = p;
    rc_error err;
    /* Long timeout: the change must wake us (NOTIFY on PostgreSQL, the
     * 200 ms look on SQLite); once it runs out the version is read again
     * and would show the change too, so waited_ms tells the two apart. */
    double t0 = rc_mono_ms();
    w->st = store_gallery_wait(w->s, w->known, WAKE_TIMEOUT_MS, &w->seen, &err);
    w->waited_ms = rc_mono_ms() - t0;
    return NULL;
}

static void gallery_changes_wake_waiters_across_handles(void **state)
{
    testdb *t = *state;
    int64_t v0;
    OK(store_gallery_version(t->s, &v0, &e_));
    int64_t now;
    OK(store_gallery_wait(t->s, v0, 10, &now, &e_)); /* nothing changed: times out */
    assert_int_equal(now, v0);
    OK(store_gallery_wait(t->s, v0 - 1, 60000, &now, &e_)); /* already moved: at once */
    assert_int_equal(now, v0);
    /* A second handle stands for another rollcall process on the same database. */
    store *other;
    OK(store_open(t->url, 0, &other, &e_));
    waiter_arg w = {.s = t->s, .known = v0};
    pthread_t th;
    pthread_create(&th, NULL, waiter, &w);
    int64_t a = add_person(other, "W", "Waiter");
    float emb[4] = {1, 0, 0, 0};
    store_face f = {.person_id = a, .dim = 4};
    snprintf(f.model, sizeof f.model, "m");
    OK(store_face_add(other, &f, emb, NULL, 0, &e_));
    pthread_join(th, NULL);
    assert_int_equal(w.st, RC_OK);
    assert_true(w.seen > v0);
    if (w.waited_ms >= WAKE_TIMEOUT_MS)
        fail_msg("the waiter saw the change only when its %d ms timeout ran out: no wake-up",
                 WAKE_TIMEOUT_MS);
    store_close(other);
}

static void person_names_are_kept_apart(void **state)
{
    store *s = S(state);
    rc_error err;
    store_person p = {.active = 1};
    snprintf(p.first_name, sizeof p.first_name, "Mary Ann");
    snprintf(p.last_name, sizeof p.last_name, "Evans");
    snprintf(p.name, sizeof p.name, "ignored");
    OK(store_person_create(s, &p, &e_));
    assert_string_equal(p.name, "Mary Ann Evans");
    store_person got;
    OK(store_person_get(s, p.id, &got, &e_));
    assert_string_equal(got.first_name, "Mary Ann"); /* two words stay the first name */
    assert_string_equal(got.last_name, "Evans");
    assert_string_equal(got.name, "Mary Ann Evans");
    snprintf(got.last_name, sizeof got.last_name, "Cross");
    OK(store_person_update(s, &got, &e_));
    assert_string_equal(got.name, "Mary Ann Cross");
    got.last_name[0] = 0;
    OK(store_person_update(s, &got, &e_));
    OK(store_person_get(s, p.id, &got, &e_));
    assert_string_equal(got.name, "Mary Ann");
    /* A caller that gives only a display name has it split at the first space. */
    int64_t id = add_person(s, "P2", "Ada King Lovelace");
    OK(store_person_get(s, id, &got, &e_));
    assert_string_equal(got.first_name, "Ada");
    assert_string_equal(got.last_name, "King Lovelace");
    /* No first name: refused. */
    store_person bad = {.active = 1};
    snprintf(bad.last_name, sizeof bad.last_name, "Only");
    assert_int_equal(store_person_create(s, &bad, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "first name"));
    /* A display name whose parts do not fit is refused, not cut. */
    memset(&bad, 0, sizeof bad);
    memset(bad.name, 'x', 100);
    assert_int_equal(store_person_create(s, &bad, &err), RC_ERR_LIMIT);
}

static int64_t add_camera(store *s, const char *name)
{
    store_camera c = {.enabled = 1, .fps = 5};
    snprintf(c.name, sizeof c.name, "%s", name);
    snprintf(c.kind, sizeof c.kind, "mjpeg");
    snprintf(c.direction, sizeof c.direction, "both");
    rc_error e_;
    if (store_camera_create(s, &c, &e_) != RC_OK) fail_msg("camera_create: %s", e_.msg);
    return c.id;
}

static int64_t add_group(store *s, const char *name)
{
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "%s", name);
    rc_error e_;
    if (store_group_create(s, &g, &e_) != RC_OK) fail_msg("group_create: %s", e_.msg);
    return g.id;
}

/* A user's person, last login and groups, and an API key's camera, with
 * referential integrity when any of them is deleted. */
static void user_links_and_key_cameras_keep_integrity(void **state)
{
    store *s = S(state);
    rc_error err;
    int64_t ada = add_person(s, "S1", "Ada Lovelace");
    int64_t g1 = add_group(s, "Class 1"), g2 = add_group(s, "Class 2");
    store_user u = {.active = 1, .person_id = ada};
    snprintf(u.email, sizeof u.email, "ada@example.org");
    snprintf(u.role, sizeof u.role, "member");
    OK(store_user_create(s, &u, &e_));
    store_user got;
    OK(store_user_get(s, u.id, &got, &e_));
    assert_int_equal(got.person_id, ada);
    assert_int_equal(got.last_login_ms, 0);
    OK(store_user_touch_login(s, u.id, 1700000000123LL, &e_));
    OK(store_user_get(s, u.id, &got, &e_));
    assert_int_equal(got.last_login_ms, 1700000000123LL);
    assert_int_equal(store_user_touch_login(s, 99999, 1, &err), RC_ERR_NOT_FOUND);
    /* A person that does not exist is refused with a message naming it. */
    got.person_id = 99999;
    assert_int_equal(store_user_update(s, &got, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "99999"));
    store_user other = {.active = 1, .person_id = 99998};
    snprintf(other.email, sizeof other.email, "ghost@example.org");
    snprintf(other.role, sizeof other.role, "member");
    assert_int_equal(store_user_create(s, &other, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "99998"));

    /* A manager's groups. */
    store_user m = {.active = 1};
    snprintf(m.email, sizeof m.email, "boss@example.org");
    snprintf(m.role, sizeof m.role, "manager");
    OK(store_user_create(s, &m, &e_));
    int64_t set[] = {g2, g1, g2};
    OK(store_user_set_groups(s, m.id, set, 3, &e_));
    int64_t *ids;
    size_t n;
    OK(store_user_groups(s, m.id, &ids, &n, &e_));
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], g1 < g2 ? g1 : g2);
    free(ids);
    int64_t badset[] = {g1, 424242};
    assert_int_equal(store_user_set_groups(s, m.id, badset, 2, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "424242"));
    OK(store_user_groups(s, m.id, &ids, &n, &e_)); /* unchanged */
    free(ids);
    assert_int_equal(n, 2);
    assert_int_equal(store_user_set_groups(s, 424242, set, 1, &err), RC_ERR_NOT_FOUND);
    /* Deleting a group takes it off the manager's list. */
    OK(store_group_delete(s, g2, &e_));
    OK(store_user_groups(s, m.id, &ids, &n, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(ids[0], g1);
    free(ids);

    /* An API key's camera. */
    int64_t cam = add_camera(s, "Gate");
    store_api_key k = {.camera_id = cam};
    snprintf(k.name, sizeof k.name, "gate");
    snprintf(k.prefix, sizeof k.prefix, "p1");
    snprintf(k.key_hash, sizeof k.key_hash, "h");
    snprintf(k.role, sizeof k.role, "device");
    OK(store_api_key_create(s, &k, &e_));
    store_api_key gk;
    OK(store_api_key_get_by_prefix(s, "p1", &gk, &e_));
    assert_int_equal(gk.camera_id, cam);
    store_api_key bad = k;
    snprintf(bad.prefix, sizeof bad.prefix, "p2");
    bad.camera_id = 31337;
    assert_int_equal(store_api_key_create(s, &bad, &err), RC_ERR_INVALID);
    assert_non_null(strstr(err.msg, "31337"));

    /* Deleting the person, the camera and the user keeps every reference valid. */
    OK(store_person_delete(s, ada, "test", &e_));
    OK(store_user_get(s, u.id, &got, &e_));
    assert_int_equal(got.person_id, 0);
    OK(store_camera_delete(s, cam, &e_));
    OK(store_api_key_get_by_prefix(s, "p1", &gk, &e_));
    assert_int_equal(gk.camera_id, 0);
    /* ...and revokes the camera's keys: unbound, a key would mark as any camera. */
    assert_int_equal(gk.revoked, 1);
    assert_int_equal(store_camera_delete(s, cam, &err), RC_ERR_NOT_FOUND);
    OK(store_user_delete(s, m.id, &e_));
    OK(store_user_groups(s, m.id, &ids, &n, &e_));
    free(ids);
    assert_int_equal(n, 0);
    char ok[256];
    OK(store_check(s, ok, sizeof ok, &e_));
    assert_string_equal(ok, "ok");
}

/* Run SQL on the database behind the fixture without the store (to fill an
 * older schema the way an older rollcall left it). */
static void raw_sql(const char *url, const char *sql)
{
    if (testdb_sql(url, sql) != 0) fail_msg("raw sql failed (see above)");
}

/* Close the fixture's store and leave an empty database migrated only up
 * to `version` at url (a fresh file on SQLite), for an upgrade test to fill
 * the way an older rollcall left it. */
static void database_at_version(testdb *t, int version, char *url, size_t cap)
{
    store_close(t->s);
    t->s = NULL;
    if (testdb_is_pg()) {
        assert_int_equal(testdb_reset_pg(t->url), 0);
        snprintf(url, cap, "%s", t->url);
    } else {
        snprintf(url, cap, "%s/v%d.db", t->dir, version);
    }
    store *s;
    OK(store_open(url, STORE_OPEN_NO_MIGRATE, &s, &e_));
    int applied = 0;
    OK(store_migrate_to(s, version, &applied, &e_));
    assert_int_equal(applied, version);
    store_close(s);
}

/* v18 lets a member withdraw a pending request: a database from before it
 * (whose CHECK refuses 'withdrawn') keeps every request, its id and its
 * sequence (a deleted newest id is not handed out again), and afterwards a
 * pending request moves to withdrawn once, and only from pending. */
static void upgrade_to_v18_lets_members_withdraw_requests(void **state)
{
    testdb *t = *state;
    char url[600];
    database_at_version(t, 15, url, sizeof url);
    raw_sql(url, "INSERT INTO persons (external_id, name, created_ms, updated_ms) VALUES"
                 " ('W-1', 'Wanda', 1, 1);"
                 "INSERT INTO correction_requests (person_id, kind, reason, status, created_ms)"
                 " SELECT id, 'missing_exit', 'r1', 'pending', 1 FROM persons;"
                 "INSERT INTO correction_requests (person_id, kind, reason, status, created_ms)"
                 " SELECT id, 'missing_entry', 'r2', 'approved', 2 FROM persons;"
                 "INSERT INTO correction_requests (person_id, kind, reason, status, created_ms)"
                 " SELECT id, 'missing_exit', 'r3', 'pending', 3 FROM persons;"
                 "DELETE FROM correction_requests WHERE reason = 'r3';");
    assert_int_not_equal(
        testdb_sql(url, "UPDATE correction_requests SET status = 'withdrawn' WHERE reason = 'r1'"),
        0);                             /* refused before v18 (the error above is expected) */
    OK(store_open(url, 0, &t->s, &e_)); /* applies v18 */
    store_request *qs;
    size_t n;
    int64_t total;
    OK(store_request_list(t->s, NULL, (store_page){0}, &qs, &n, &total, &e_));
    assert_int_equal(n, 2);
    int64_t p = qs[0].person_id, r1 = strcmp(qs[0].reason, "r1") ? qs[1].id : qs[0].id;
    assert_string_equal(strcmp(qs[0].reason, "r1") ? qs[0].status : qs[1].status, "approved");
    free(qs);
    int64_t before = rc_unix_ms();
    OK(store_request_decide(t->s, r1, "pending", "withdrawn", "user:4", "", 0, &e_));
    store_request got;
    OK(store_request_get(t->s, r1, &got, &e_));
    assert_string_equal(got.status, "withdrawn");
    assert_string_equal(got.decided_by, "user:4");
    assert_true(got.decided_ms >= before);
    rc_error err;
    assert_int_equal(store_request_decide(t->s, r1, "pending", "approved", "user:5", "", 0, &err),
                     RC_ERR_CONFLICT);
    assert_int_equal(store_request_decide(t->s, r1, "pending", "withdrawn", "user:4", "", 0, &err),
                     RC_ERR_CONFLICT);
    store_request_filter f = {.status = "withdrawn"};
    OK(store_request_list(t->s, &f, (store_page){0}, &qs, &n, &total, &e_));
    assert_int_equal(total, 1);
    assert_int_equal(qs[0].id, r1);
    free(qs);
    /* The deleted third request's id stays used. */
    store_request q = {.person_id = p};
    snprintf(q.kind, sizeof q.kind, "missing_exit");
    snprintf(q.reason, sizeof q.reason, "r4");
    OK(store_request_create(t->s, &q, 20, &e_));
    assert_true(q.id > r1 + 2);
}

/* A transaction begun inside a transaction joins it: its end commits
 * nothing, the outermost end decides, and a nested failure undoes the whole
 * even when the outer end says all went well (an approval joins
 * att_manual's transaction so). */
static void nested_transactions_join_the_outer_one(void **state)
{
    store *s = S(state);
    int64_t a = add_person(s, "N", "Nest");
    store_event e = {.person_id = a, .ts_ms = 1000, .sightings = 1}, got;
    snprintf(e.kind, sizeof e.kind, "entry");
    snprintf(e.status, sizeof e.status, "on_time");
    snprintf(e.slot_day, sizeof e.slot_day, "2026-03-02");
    rc_error err;
    /* The outer one rolls back: the nested insert goes too. */
    OK(store_tx_begin(s, 7, &e_));
    OK(store_tx_begin(s, 8, &e_)); /* with a lock of its own on PostgreSQL */
    OK(store_event_insert(s, &e, &e_));
    OK(store_tx_end(s, RC_OK, &e_));
    assert_int_equal(store_tx_end(s, RC_ERR_CONFLICT, &err), RC_ERR_CONFLICT);
    assert_int_equal(store_event_get(s, e.id, &got, &err), RC_ERR_NOT_FOUND);
    /* A nested part failed: the outer end rolls back and says so. */
    OK(store_tx_begin(s, 0, &e_));
    OK(store_event_insert(s, &e, &e_));
    OK(store_tx_begin(s, 0, &e_));
    assert_int_equal(store_tx_end(s, RC_ERR_INVALID, &err), RC_ERR_INVALID);
    assert_int_equal(store_tx_end(s, RC_OK, &err), RC_ERR_INVALID);
    assert_int_equal(store_event_get(s, e.id, &got, &err), RC_ERR_NOT_FOUND);
    /* All well: both inserts are there after the outermost end, and the
     * next transaction starts clean. */
    store_event e2 = e;
    e2.ts_ms = 2000;
    OK(store_tx_begin(s, 0, &e_));
    OK(store_event_insert(s, &e, &e_));
    OK(store_tx_begin(s, 0, &e_));
    OK(store_event_insert(s, &e2, &e_));
    OK(store_tx_end(s, RC_OK, &e_));
    OK(store_tx_end(s, RC_OK, &e_));
    OK(store_event_get(s, e.id, &got, &e_));
    OK(store_event_get(s, e2.id, &got, &e_));
    OK(store_tx_begin(s, 0, &e_));
    OK(store_tx_end(s, RC_OK, &e_));
}

/* A database from before the search key (v9) gets a key for every person
 * in the upgrade. */
static void upgrade_to_v10_gives_every_person_a_search_key(void **state)
{
    testdb *t = *state;
    char url[600];
    database_at_version(t, 9, url, sizeof url);
    raw_sql(url, "INSERT INTO persons (external_id, name, first_name, last_name, email, created_ms,"
                 " updated_ms) VALUES ('O-1', 'Óscar Peña', 'Óscar', 'Peña', '', 1, 1),"
                 " ('O-2', 'Ana Ruiz', 'Ana', 'Ruiz', 'ana@x.org', 1, 1);");
    OK(store_open(url, 0, &t->s, &e_)); /* applies v10 */
    assert_int_equal(found(t->s, "oscar pena", NULL), 1);
    assert_int_equal(found(t->s, "ANA@X", NULL), 1);
    assert_int_equal(found(t->s, "o-", NULL), 2);
}

/* A database from before v11 learns from the audit log who last corrected
 * or voided each event, and when; an event only added by hand, or never
 * touched, has no correction. */
static void upgrade_to_v11_reads_corrections_from_the_audit_log(void **state)
{
    testdb *t = *state;
    char url[600];
    database_at_version(t, 10, url, sizeof url);
    raw_sql(url, "INSERT INTO persons (external_id, name, created_ms, updated_ms) VALUES"
                 " ('C-1', 'Clara', 1, 1);"
                 "INSERT INTO events (person_id, ts_ms, last_seen_ms, kind, slot_day, created_ms,"
                 " updated_ms) SELECT id, 1000 * n.k, 1000 * n.k, 'entry', '2026-01-05', 1, 1"
                 " FROM persons, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3) n;"
                 "INSERT INTO audit (ts_ms, actor, action, target_type, target_id, detail)"
                 " SELECT 500, 'user:2', 'event.correct', 'event', min(id), '{}' FROM events;"
                 "INSERT INTO audit (ts_ms, actor, action, target_type, target_id, detail)"
                 " SELECT 700, 'user:3', 'event.void', 'event', min(id), '{}' FROM events;"
                 "INSERT INTO audit (ts_ms, actor, action, target_type, target_id, detail)"
                 " SELECT 600, 'user:4', 'event.correct', 'event', min(id), '{}' FROM events;"
                 "INSERT INTO audit (ts_ms, actor, action, target_type, target_id, detail)"
                 " SELECT 800, 'user:5', 'event.add', 'event', max(id), '{}' FROM events;"
                 "INSERT INTO audit (ts_ms, actor, action, target_type, target_id, detail)"
                 " SELECT 900, 'user:6', 'event.correct', 'person', min(id), '{}' FROM events;");
    OK(store_open(url, 0, &t->s, &e_)); /* applies v11 */
    store_event *ev;
    size_t n;
    int64_t total;
    OK(store_event_list(t->s, NULL, (store_page){0}, &ev, &n, &total, &e_));
    assert_int_equal(n, 3);
    assert_int_equal(ev[0].corrected_ms, 700); /* the latest of three */
    assert_string_equal(ev[0].corrected_by, "user:3");
    for (size_t i = 1; i < 3; i++) {
        assert_int_equal(ev[i].corrected_ms, 0);
        assert_string_equal(ev[i].corrected_by, "");
    }
    free(ev);
}

/* A database from v12 gets correction_requests (v13) and keeps its data:
 * a request names its person and, optionally, an event as it was; at most
 * max_pending wait per person; a decision is taken once (the second of two
 * deciders is refused); deleting the person deletes their requests. */
static void upgrade_to_v13_adds_correction_requests(void **state)
{
    testdb *t = *state;
    char url[600];
    database_at_version(t, 12, url, sizeof url);
    raw_sql(url, "INSERT INTO persons (external_id, name, created_ms, updated_ms) VALUES"
                 " ('Q-1', 'Quique', 1, 1), ('Q-2', 'Quima', 1, 1);"
                 "INSERT INTO events (person_id, ts_ms, last_seen_ms, kind, slot_day, created_ms,"
                 " updated_ms) SELECT id, 5000, 5000, 'entry', '2026-01-05', 1, 1 FROM persons"
                 " WHERE external_id = 'Q-1';");
    OK(store_open(url, 0, &t->s, &e_)); /* applies v13 */
    store_migration *m;
    size_t nm;
    OK(store_migrations(t->s, &m, &nm, &e_));
    bool has13 = false;
    for (size_t i = 0; i < nm; i++) has13 |= m[i].version == 13 && m[i].applied_ms > 0;
    free(m);
    assert_true(has13);
    store_person *ps;
    size_t np;
    OK(store_person_list(t->s, NULL, (store_page){0}, &ps, &np, NULL, &e_));
    assert_int_equal(np, 2);
    int64_t p1 = strcmp(ps[0].external_id, "Q-1") == 0 ? ps[0].id : ps[1].id;
    int64_t p2 = p1 == ps[0].id ? ps[1].id : ps[0].id;
    free(ps);
    store_event *ev;
    size_t ne;
    store_event_filter ef = {.person_id = p1};
    OK(store_event_list(t->s, &ef, (store_page){0}, &ev, &ne, NULL, &e_));
    assert_int_equal(ne, 1);
    int64_t eid = ev[0].id;
    free(ev);

    store_request q = {.person_id = p1, .event_id = eid, .event_ts_ms = 5000, .requested_ms = 4000};
    snprintf(q.kind, sizeof q.kind, "wrong_time");
    snprintf(q.reason, sizeof q.reason, "llegué antes");
    snprintf(q.created_by, sizeof q.created_by, "user:7");
    OK(store_request_create(t->s, &q, 2, &e_));
    assert_true(q.id > 0);
    assert_string_equal(q.status, "pending");
    store_request got;
    OK(store_request_get(t->s, q.id, &got, &e_));
    assert_int_equal(got.event_id, eid);
    assert_int_equal(got.event_ts_ms, 5000);
    assert_int_equal(got.requested_ms, 4000);
    assert_string_equal(got.reason, "llegué antes");
    assert_string_equal(got.created_by, "user:7");
    assert_string_equal(got.person_name, "Quique");
    /* 500 characters of two bytes each fit; 501 do not; nor an unknown kind
     * or person. */
    store_request q2 = {.person_id = p1};
    snprintf(q2.kind, sizeof q2.kind, "missing_exit");
    for (int i = 0; i < 501; i++) memcpy(q2.reason + 2 * i, "\xc3\xb1", 2);
    rc_error err;
    assert_int_equal(store_request_create(t->s, &q2, 2, &err), RC_ERR_INVALID);
    q2.reason[1000] = 0;
    OK(store_request_create(t->s, &q2, 2, &e_));
    assert_int_equal(store_request_create(t->s, &q2, 2, &err), RC_ERR_CONFLICT); /* 2 pending */
    store_request bad = q2;
    snprintf(bad.kind, sizeof bad.kind, "holiday");
    assert_int_equal(store_request_create(t->s, &bad, 9, &err), RC_ERR_INVALID);
    bad = q2;
    bad.person_id = 987654;
    assert_int_equal(store_request_create(t->s, &bad, 9, &err), RC_ERR_INVALID);
    /* Another person's count is their own. */
    store_request q3 = q2;
    q3.person_id = p2;
    OK(store_request_create(t->s, &q3, 2, &e_));
    int64_t count = 0;
    OK(store_request_count(t->s, p1, 0, &count, &e_));
    assert_int_equal(count, 2);

    /* Decided once: the second decider is refused; reopening clears it. */
    OK(store_request_decide(t->s, q.id, "pending", "approved", "user:3", "vale", 0, &e_));
    assert_int_equal(store_request_decide(t->s, q.id, "pending", "rejected", "user:4", "", 0, &err),
                     RC_ERR_CONFLICT);
    OK(store_request_get(t->s, q.id, &got, &e_));
    assert_string_equal(got.status, "approved");
    assert_string_equal(got.decided_by, "user:3");
    assert_string_equal(got.note, "vale");
    assert_true(got.decided_ms > 0);
    OK(store_request_decide(t->s, q.id, "approved", "pending", NULL, NULL, 0, &e_));
    OK(store_request_get(t->s, q.id, &got, &e_));
    assert_string_equal(got.status, "pending");
    assert_int_equal(got.decided_ms, 0);
    assert_string_equal(got.decided_by, "");
    OK(store_request_decide(t->s, q.id, "pending", "approved", "user:3", "", eid, &e_));
    OK(store_request_get(t->s, q.id, &got, &e_));
    assert_int_equal(got.result_event_id, eid);
    store_request *list;
    size_t n;
    int64_t total;
    store_request_filter f = {.status = "pending"};
    OK(store_request_list(t->s, &f, (store_page){0}, &list, &n, &total, &e_));
    assert_int_equal(total, 2); /* q2 and q3 */
    free(list);
    f = (store_request_filter){.person_id = p1};
    OK(store_request_list(t->s, &f, (store_page){0}, &list, &n, &total, &e_));
    assert_int_equal(n, 2);
    assert_int_equal(list[0].id, q2.id); /* newest first */
    free(list);

    /* The event can go without taking the request (refused at approval). */
    OK(store_event_remove(t->s, eid, "user:3", "duplicado", &e_));
    OK(store_request_get(t->s, q.id, &got, &e_));
    assert_int_equal(got.event_id, eid);
    /* The person goes with their requests. */
    OK(store_person_delete(t->s, p1, "user:1", &e_));
    assert_int_equal(store_request_get(t->s, q.id, &got, &err), RC_ERR_NOT_FOUND);
    assert_int_equal(store_request_get(t->s, q2.id, &got, &err), RC_ERR_NOT_FOUND);
    OK(store_request_get(t->s, q3.id, &got, &e_));
}

/* A database from v12 gets person_leaves (v14): a person's leaves are kept,
 * listed by range, never overlap, refuse unknown kinds and reversed days,
 * and go with the person. */
static void upgrade_to_v14_keeps_leaves_per_person(void **state)
{
    testdb *t = *state;
    char url[600];
    database_at_version(t, 12, url, sizeof url);
    raw_sql(url, "INSERT INTO persons (external_id, name, created_ms, updated_ms) VALUES"
                 " ('L-1', 'Lola', 1, 1), ('L-2', 'Luis', 1, 1);");
    OK(store_open(url, 0, &t->s, &e_)); /* applies v14 */
    store_person lola, luis;
    OK(store_person_get_by_external(t->s, "L-1", &lola, &e_));
    OK(store_person_get_by_external(t->s, "L-2", &luis, &e_));
    store_leave l = {.person_id = lola.id,
                     .kind = "sick",
                     .from_day = "2026-03-02",
                     .to_day = "2026-03-04",
                     .note = "gripe",
                     .created_by = "user:1"};
    OK(store_leave_add(t->s, &l, &e_));
    assert_true(l.id > 0);
    assert_true(l.created_ms > 0);
    store_leave v = {
        .person_id = lola.id, .kind = "vacation", .from_day = "2026-03-10", .to_day = "2026-03-20"};
    OK(store_leave_add(t->s, &v, &e_));
    store_leave o = {.person_id = luis.id,
                     .kind = "justified",
                     .from_day = "2026-03-03",
                     .to_day = "2026-03-03"};
    OK(store_leave_add(t->s, &o, &e_));
    rc_error err;
    /* Overlapping one of Lola's (the 4th) is a conflict; Luis's day is his own. */
    store_leave bad = {
        .person_id = lola.id, .kind = "personal", .from_day = "2026-03-04", .to_day = "2026-03-05"};
    assert_int_equal(store_leave_add(t->s, &bad, &err), RC_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "2026-03-02"));
    snprintf(bad.from_day, sizeof bad.from_day, "2026-03-06");
    snprintf(bad.to_day, sizeof bad.to_day, "2026-03-05");
    assert_int_equal(store_leave_add(t->s, &bad, &err), RC_ERR_INVALID);
    snprintf(bad.to_day, sizeof bad.to_day, "2026-03-06");
    snprintf(bad.kind, sizeof bad.kind, "holiday");
    assert_int_equal(store_leave_add(t->s, &bad, &err), RC_ERR_INVALID);
    snprintf(bad.kind, sizeof bad.kind, "other");
    bad.person_id = luis.id + 1000;
    assert_int_equal(store_leave_add(t->s, &bad, &err), RC_ERR_NOT_FOUND);
    store_leave *ls = NULL;
    size_t n = 0;
    OK(store_leave_list(t->s, 0, "2026-03-03", "2026-03-10", &ls, &n, &e_));
    assert_int_equal(n, 3);
    free(ls);
    OK(store_leave_list(t->s, lola.id, "2026-03-05", "2026-03-09", &ls, &n, &e_));
    assert_int_equal(n, 0);
    free(ls);
    OK(store_leave_list(t->s, lola.id, NULL, NULL, &ls, &n, &e_));
    assert_int_equal(n, 2);
    assert_string_equal(ls[0].kind, "sick");
    assert_string_equal(ls[0].note, "gripe");
    assert_string_equal(ls[0].created_by, "user:1");
    assert_string_equal(ls[1].to_day, "2026-03-20");
    free(ls);
    /* Another person's leave id is not theirs to delete. */
    assert_int_equal(store_leave_delete(t->s, luis.id, v.id, NULL, &err), RC_ERR_NOT_FOUND);
    store_leave gone;
    OK(store_leave_delete(t->s, lola.id, v.id, &gone, &e_));
    assert_string_equal(gone.kind, "vacation");
    OK(store_person_delete(t->s, lola.id, "test", &e_));
    OK(store_leave_list(t->s, 0, NULL, NULL, &ls, &n, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(ls[0].person_id, luis.id);
    free(ls);
}

/* A database from before migration 17 keeps its leaves as whole days and
 * gains part-day leave: minutes [from_min, to_min) of one day, refused when
 * reversed, out of range or on more than one day; and a leave can be edited
 * in place (same checks and overlap rule; who created it stays). */
static void upgrade_to_v17_adds_part_day_leave(void **state)
{
    testdb *t = *state;
    store_migration *ms;
    size_t nm;
    OK(store_migrations(t->s, &ms, &nm, &e_));
    int before = 0;
    for (size_t i = 0; i < nm; i++)
        if (ms[i].version < 17 && ms[i].version > before) before = ms[i].version;
    free(ms);
    char url[600];
    database_at_version(t, before, url, sizeof url);
    raw_sql(url, "INSERT INTO persons (external_id, name, created_ms, updated_ms) VALUES"
                 " ('P-1', 'Paula', 1, 1), ('P-2', 'Pablo', 1, 1);"
                 "INSERT INTO person_leaves (person_id, kind, from_day, to_day, note, created_by,"
                 " created_ms) SELECT id, 'sick', '2026-04-06', '2026-04-08', 'gripe', 'user:9', 5"
                 " FROM persons WHERE external_id = 'P-1';");
    OK(store_open(url, 0, &t->s, &e_)); /* applies v17 */
    store_person paula, pablo;
    OK(store_person_get_by_external(t->s, "P-1", &paula, &e_));
    OK(store_person_get_by_external(t->s, "P-2", &pablo, &e_));
    store_leave *ls = NULL;
    size_t n = 0;
    OK(store_leave_list(t->s, paula.id, NULL, NULL, &ls, &n, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(ls[0].from_min, 0); /* the whole days, as before */
    assert_int_equal(ls[0].to_min, 0);
    store_leave old = ls[0];
    free(ls);

    /* A doctor's appointment 09:00-11:00 on one day. */
    store_leave doc = {.person_id = paula.id,
                       .kind = "justified",
                       .from_day = "2026-04-13",
                       .to_day = "2026-04-13",
                       .from_min = 540,
                       .to_min = 660,
                       .created_by = "user:2"};
    OK(store_leave_add(t->s, &doc, &e_));
    /* From midnight to midnight is a part of a day too (minutes 0 and 1440). */
    store_leave edge = {.person_id = pablo.id,
                        .kind = "other",
                        .from_day = "2026-04-13",
                        .to_day = "2026-04-13",
                        .from_min = 0,
                        .to_min = 1440};
    OK(store_leave_add(t->s, &edge, &e_));
    OK(store_leave_list(t->s, 0, "2026-04-13", "2026-04-13", &ls, &n, &e_));
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        bool mine = ls[i].id == doc.id;
        assert_int_equal(ls[i].from_min, mine ? 540 : 0);
        assert_int_equal(ls[i].to_min, mine ? 660 : 1440);
    }
    free(ls);
    rc_error err;
    struct {
        int from_min, to_min;
        const char *to_day, *says;
    } bad[] = {
        {660, 540, "2026-04-20", "before or as it starts"},
        {600, 600, "2026-04-20", "before or as it starts"},
        {-1, 60, "2026-04-20", "within 0 to 1440"},
        {0, 1441, "2026-04-20", "within 0 to 1440"},
        {1440, 1440, "2026-04-20", "within 0 to 1440"},
        {540, 660, "2026-04-21", "more than one day"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        store_leave b = {.person_id = pablo.id,
                         .kind = "personal",
                         .from_day = "2026-04-20",
                         .from_min = bad[i].from_min,
                         .to_min = bad[i].to_min};
        snprintf(b.to_day, sizeof b.to_day, "%s", bad[i].to_day);
        assert_int_equal(store_leave_add(t->s, &b, &err), RC_ERR_INVALID);
        assert_non_null(strstr(err.msg, bad[i].says));
    }
    OK(store_leave_list(t->s, pablo.id, NULL, NULL, &ls, &n, &e_));
    assert_int_equal(n, 1); /* none of them stored */
    free(ls);

    /* Edited in place: the old sick leave shortened to one morning; who
     * created it and when stay. */
    store_leave ed = old, was;
    snprintf(ed.kind, sizeof ed.kind, "personal");
    snprintf(ed.to_day, sizeof ed.to_day, "2026-04-06");
    snprintf(ed.note, sizeof ed.note, "solo la mañana");
    ed.from_min = 480;
    ed.to_min = 720;
    snprintf(ed.created_by, sizeof ed.created_by, "user:666"); /* not taken */
    OK(store_leave_update(t->s, &ed, &was, &e_));
    assert_string_equal(was.kind, "sick");
    assert_string_equal(was.to_day, "2026-04-08");
    assert_int_equal(was.to_min, 0);
    assert_string_equal(ed.created_by, "user:9");
    assert_int_equal(ed.created_ms, 5);
    OK(store_leave_list(t->s, paula.id, NULL, NULL, &ls, &n, &e_));
    assert_int_equal(n, 2);
    assert_int_equal(ls[0].id, old.id);
    assert_string_equal(ls[0].kind, "personal");
    assert_string_equal(ls[0].to_day, "2026-04-06");
    assert_string_equal(ls[0].note, "solo la mañana");
    assert_int_equal(ls[0].from_min, 480);
    assert_int_equal(ls[0].to_min, 720);
    assert_string_equal(ls[0].created_by, "user:9");
    free(ls);
    /* Back to whole days; its own days never clash with it, another's do. */
    ed.from_min = ed.to_min = 0;
    snprintf(ed.to_day, sizeof ed.to_day, "2026-04-10");
    OK(store_leave_update(t->s, &ed, NULL, &e_));
    snprintf(ed.to_day, sizeof ed.to_day, "2026-04-13");
    assert_int_equal(store_leave_update(t->s, &ed, NULL, &err), RC_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "2026-04-13"));
    /* The same checks as adding. */
    snprintf(ed.to_day, sizeof ed.to_day, "2026-04-07");
    ed.from_min = 600;
    ed.to_min = 540;
    assert_int_equal(store_leave_update(t->s, &ed, NULL, &err), RC_ERR_INVALID);
    ed.from_min = ed.to_min = 0;
    snprintf(ed.kind, sizeof ed.kind, "holiday");
    assert_int_equal(store_leave_update(t->s, &ed, NULL, &err), RC_ERR_INVALID);
    snprintf(ed.kind, sizeof ed.kind, "sick");
    /* Another person's leave id is not theirs to edit; nor an unknown one. */
    ed.person_id = pablo.id;
    assert_int_equal(store_leave_update(t->s, &ed, NULL, &err), RC_ERR_NOT_FOUND);
    ed.person_id = paula.id;
    ed.id = edge.id + 1000;
    assert_int_equal(store_leave_update(t->s, &ed, NULL, &err), RC_ERR_NOT_FOUND);
    OK(store_leave_list(t->s, paula.id, NULL, NULL, &ls, &n, &e_));
    assert_string_equal(ls[0].to_day, "2026-04-10"); /* the refused edits changed nothing */
    assert_string_equal(ls[0].kind, "personal");
    free(ls);
}

/* A database from before migration 15 gains the read-only "auditor" role
 * (HR, inspection): a user may have it after the upgrade (users.role refers
 * to roles), and the users already there keep theirs. */
static void upgrade_to_v15_adds_the_auditor_role(void **state)
{
    testdb *t = *state;
    /* The migration just before 15, whichever it is in this build. */
    store_migration *ms;
    size_t nm;
    OK(store_migrations(t->s, &ms, &nm, &e_));
    int before = 0;
    for (size_t i = 0; i < nm; i++)
        if (ms[i].version < 15 && ms[i].version > before) before = ms[i].version;
    free(ms);
    char url[600];
    database_at_version(t, before, url, sizeof url);
    raw_sql(url, "INSERT INTO users (email, name, role, pass_hash, created_ms, updated_ms)"
                 " VALUES ('boss@example.org', 'Boss', 'manager', 'h', 1, 1);");
    OK(store_open(url, 0, &t->s, &e_)); /* applies v15 */
    store_role *roles;
    size_t nr;
    OK(store_role_list(t->s, &roles, &nr, &e_));
    const store_role *auditor = NULL;
    for (size_t i = 0; i < nr; i++)
        if (strcmp(roles[i].name, "auditor") == 0) auditor = &roles[i];
    assert_non_null(auditor);
    assert_non_null(strstr(auditor->description, "read-only"));
    free(roles);
    store_user u = {.active = 1};
    snprintf(u.email, sizeof u.email, "hr@example.org");
    snprintf(u.role, sizeof u.role, "auditor");
    OK(store_user_create(t->s, &u, &e_));
    store_user got;
    OK(store_user_get(t->s, u.id, &got, &e_));
    assert_string_equal(got.role, "auditor");
    OK(store_user_get_by_email(t->s, "boss@example.org", &got, &e_));
    assert_string_equal(got.role, "manager");
}

/* A database from before migration 16 keeps its slots, open on both
 * sides (in force on every day), and takes dated changes after; its
 * memberships are current, and leaving one keeps it as history. */
static void upgrade_to_v16_keeps_slots_open(void **state)
{
    testdb *t = *state;
    char url[600];
    database_at_version(t, 15, url, sizeof url);
    raw_sql(url, "INSERT INTO person_groups (name, created_ms) VALUES ('2B', 1);"
                 "INSERT INTO schedules (group_id, dow, start_min, end_min, label) VALUES"
                 " ((SELECT id FROM person_groups WHERE name = '2B'), 1, 480, 540, 'Física');"
                 "INSERT INTO persons (external_id, name, created_ms, updated_ms) VALUES"
                 " ('M-1', 'Marta', 1, 1);"
                 "INSERT INTO group_members (group_id, person_id, joined_ms) VALUES"
                 " ((SELECT id FROM person_groups WHERE name = '2B'),"
                 " (SELECT id FROM persons WHERE external_id = 'M-1'), 5);");
    OK(store_open(url, 0, &t->s, &e_)); /* applies v16 */
    store_schedule *list;
    size_t n;
    OK(store_schedule_list(t->s, 0, 0, &list, &n, &e_));
    assert_int_equal(n, 1);
    assert_string_equal(list[0].label, "Física");
    assert_string_equal(list[0].valid_from, "");
    assert_string_equal(list[0].valid_to, "");
    assert_true(store_schedule_valid_on(&list[0], "1999-01-01"));
    assert_true(store_schedule_valid_on(&list[0], "2099-12-31"));
    store_schedule moved = list[0];
    moved.start_min = 600, moved.end_min = 660;
    OK(store_schedules_write_from(t->s, 0, moved.group_id, 1, "2026-09-14", &moved, 1, NULL, &e_));
    store_schedule got;
    OK(store_schedule_get(t->s, list[0].id, &got, &e_));
    assert_string_equal(got.valid_to, "2026-09-13");
    assert_int_equal(got.start_min, 480);
    /* The membership is current; leaving keeps it as history, joining
     * again makes a second one, and the person's deletion takes both. */
    int64_t g = list[0].group_id;
    free(list);
    store_person marta;
    OK(store_person_get_by_external(t->s, "M-1", &marta, &e_));
    store_membership *m;
    size_t nm;
    OK(store_memberships(t->s, g, 0, &m, &nm, &e_));
    assert_int_equal(nm, 1);
    assert_int_equal(m[0].joined_ms, 5);
    assert_int_equal(m[0].left_ms, 0);
    free(m);
    OK(store_group_leave(t->s, g, marta.id, 1000, &e_));
    OK(store_group_leave(t->s, g, marta.id, 2000, &e_)); /* not a member: nothing */
    OK(store_memberships(t->s, g, 0, &m, &nm, &e_));
    assert_int_equal(nm, 0);
    free(m);
    store_group grp;
    OK(store_group_get(t->s, g, &grp, &e_));
    assert_int_equal(grp.member_count, 0);
    OK(store_group_join(t->s, g, marta.id, 3000, &e_));
    OK(store_group_join(t->s, g, marta.id, 4000, &e_)); /* moves the current one's date */
    OK(store_memberships_history(t->s, marta.id, &m, &nm, &e_));
    assert_int_equal(nm, 2);
    assert_int_equal(m[0].joined_ms, 5);
    assert_int_equal(m[0].left_ms, 1000);
    assert_int_equal(m[1].joined_ms, 4000);
    assert_int_equal(m[1].left_ms, 0);
    free(m);
    int64_t *ids;
    OK(store_person_groups(t->s, marta.id, &ids, &nm, &e_));
    assert_int_equal(nm, 1);
    free(ids);
    OK(store_person_delete(t->s, marta.id, "test", &e_));
    OK(store_memberships_history(t->s, marta.id, &m, &nm, &e_));
    assert_int_equal(nm, 0);
    free(m);
}

/* Upgrading a version 1 database that holds data: roles renamed, names
 * split the way the API used to, and the links the HTTP layer kept in
 * settings moved into their columns (dangling ones dropped), nothing else
 * touched. */
static void upgrade_from_v1_keeps_and_moves_data(void **state)
{
    testdb *t = *state;
    char url[600];
    database_at_version(t, 1, url, sizeof url);
    store *s;
    raw_sql(url,
            "INSERT INTO persons (external_id, name, created_ms, updated_ms) VALUES"
            " ('S1', 'Ada Lovelace', 1, 1), ('S2', 'Plato', 1, 1),"
            " ('S3', 'Mary Ann Evans', 1, 1);"
            "INSERT INTO person_groups (name, created_ms) VALUES ('A', 1), ('B', 1), ('C', 1);"
            "INSERT INTO cameras (name, created_ms) VALUES ('gate', 1);"
            "INSERT INTO users (email, name, role, created_ms, updated_ms) VALUES"
            " ('ada@x.org', 'Ada', 'viewer', 1, 1), ('kiosk@x.org', 'K', 'kiosk', 1, 1),"
            " ('boss@x.org', 'Boss', 'manager', 1, 1);"
            "INSERT INTO api_keys (name, prefix, key_hash, role, created_ms) VALUES"
            " ('door', 'k1', 'h', 'kiosk', 1), ('old', 'k2', 'h', 'kiosk', 1);"
            "INSERT INTO settings (key, value) SELECT 'user_person.' || CAST(u.id AS TEXT),"
            " CAST(p.id AS TEXT) FROM users u, persons p"
            " WHERE u.email = 'ada@x.org' AND p.external_id = 'S1';"
            "INSERT INTO settings (key, value) SELECT 'user_person.' || CAST(u.id AS TEXT),"
            " '987654' FROM users u WHERE u.email = 'kiosk@x.org';"
            "INSERT INTO settings (key, value) SELECT 'user_last_login.' || CAST(u.id AS TEXT),"
            " '1700000000123' FROM users u WHERE u.email = 'ada@x.org';"
            "INSERT INTO settings (key, value) SELECT 'user_last_login.' || CAST(u.id AS TEXT),"
            " 'garbage' FROM users u WHERE u.email = 'kiosk@x.org';"
            "INSERT INTO settings (key, value) SELECT 'user_groups.' || CAST(u.id AS TEXT),"
            " CAST(a.id AS TEXT) || ',' || CAST(c.id AS TEXT) || ',987654'"
            " FROM users u, person_groups a, person_groups c"
            " WHERE u.email = 'boss@x.org' AND a.name = 'A' AND c.name = 'C';"
            "INSERT INTO settings (key, value) SELECT 'api_key_camera.' || CAST(k.id AS TEXT),"
            " CAST(c.id AS TEXT) FROM api_keys k, cameras c WHERE k.prefix = 'k1';"
            "INSERT INTO settings (key, value) SELECT 'api_key_camera.' || CAST(k.id AS TEXT),"
            " '987654' FROM api_keys k WHERE k.prefix = 'k2';"
            "INSERT INTO settings (key, value) VALUES ('timezone', 'Europe/Berlin');"
            "INSERT INTO events (person_id, ts_ms, last_seen_ms, kind, slot_day, source, reason,"
            " created_ms, updated_ms) SELECT id, 5000, 5000, 'entry', '2026-01-05', 'manual',"
            " 'forgot', 1, 1 FROM persons WHERE external_id = 'S1';");

    OK(store_open(url, 0, &s, &e_)); /* applies the rest */
    store_migration *m;
    size_t n;
    OK(store_migrations(s, &m, &n, &e_));
    for (size_t i = 0; i < n; i++) assert_true(m[i].applied_ms > 0);
    free(m);
    store_role *roles;
    OK(store_role_list(s, &roles, &n, &e_));
    assert_int_equal(n, 6); /* admin, auditor, device, manager, member, metrics */
    for (size_t i = 0; i < n; i++)
        assert_true(strcmp(roles[i].name, "viewer") != 0 && strcmp(roles[i].name, "kiosk") != 0);
    free(roles);

    store_person p;
    OK(store_person_get_by_external(s, "S1", &p, &e_));
    int64_t ada_person = p.id;
    assert_string_equal(p.first_name, "Ada");
    assert_string_equal(p.last_name, "Lovelace");
    assert_string_equal(p.name, "Ada Lovelace");
    OK(store_person_get_by_external(s, "S2", &p, &e_));
    assert_string_equal(p.first_name, "Plato");
    assert_string_equal(p.last_name, "");
    OK(store_person_get_by_external(s, "S3", &p, &e_));
    assert_string_equal(p.first_name, "Mary");
    assert_string_equal(p.last_name, "Ann Evans");
    assert_string_equal(p.name, "Mary Ann Evans");

    /* v3 rebuilt events: the old one is kept as it was; a "pin" event can be
     * written and gets a new id (PostgreSQL's identity restarted past it). */
    store_event *evs;
    store_event_filter ef = {.person_id = ada_person};
    OK(store_event_list(s, &ef, (store_page){10, 0}, &evs, &n, NULL, &e_));
    assert_int_equal(n, 1);
    assert_string_equal(evs[0].source, "manual");
    assert_string_equal(evs[0].reason, "forgot");
    assert_int_equal(evs[0].voided_ms, 0);
    store_event ne = {.person_id = ada_person, .ts_ms = 9000, .slot_day = "2026-01-05"};
    snprintf(ne.kind, sizeof ne.kind, "exit");
    snprintf(ne.source, sizeof ne.source, "pin");
    OK(store_event_insert(s, &ne, &e_));
    assert_true(ne.id > evs[0].id);
    free(evs);

    store_user u;
    OK(store_user_get_by_email(s, "ada@x.org", &u, &e_));
    assert_string_equal(u.role, "member");
    assert_int_equal(u.must_change, 0);
    assert_int_equal(u.person_id, ada_person);
    assert_int_equal(u.last_login_ms, 1700000000123LL);
    assert_int_equal(u.group_limited, 0); /* had no groups: sees every group */
    OK(store_user_get_by_email(s, "kiosk@x.org", &u, &e_));
    assert_string_equal(u.role, "device");
    assert_int_equal(u.person_id, 0);     /* named a person that was gone */
    assert_int_equal(u.last_login_ms, 0); /* was not a time */
    OK(store_user_get_by_email(s, "boss@x.org", &u, &e_));
    assert_int_equal(u.group_limited, 1); /* had groups: stays limited to them */
    int64_t *ids;
    OK(store_user_groups(s, u.id, &ids, &n, &e_));
    assert_int_equal(n, 2); /* A and C; the missing group is dropped */
    store_group g;
    OK(store_group_get(s, ids[0], &g, &e_));
    assert_string_equal(g.name, "A");
    OK(store_group_get(s, ids[1], &g, &e_));
    assert_string_equal(g.name, "C");
    free(ids);

    store_api_key k;
    OK(store_api_key_get_by_prefix(s, "k1", &k, &e_));
    assert_string_equal(k.role, "device");
    store_camera c;
    OK(store_camera_get(s, k.camera_id, &c, &e_));
    assert_string_equal(c.name, "gate");
    OK(store_api_key_get_by_prefix(s, "k2", &k, &e_));
    assert_int_equal(k.camera_id, 0);

    /* The moved settings are gone; the others stay. */
    char buf[64];
    rc_error err;
    assert_int_equal(store_setting_get(s, "api_key_camera.1", buf, sizeof buf, &err),
                     RC_ERR_NOT_FOUND);
    OK(store_setting_get(s, "timezone", buf, sizeof buf, &e_));
    assert_string_equal(buf, "Europe/Berlin");
    /* New rows can be added after the upgrade (ids were not disturbed). */
    add_person(s, "S4", "New Person");
    char ok[256];
    OK(store_check(s, ok, sizeof ok, &e_));
    assert_string_equal(ok, "ok");
    store_close(s);
    if (testdb_is_pg()) OK(store_open(t->url, 0, &t->s, &e_));
}

/* Whether the file at path holds the n bytes at needle (a missing file
 * holds nothing). */
static int file_holds(const char *path, const void *needle, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    size_t cap = 1 << 20, len = 0;
    unsigned char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + len, 1, cap - len, f)) > 0) {
        len += r;
        if (len == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    int hit = len >= n && memmem(buf, len, needle, n) != NULL;
    free(buf);
    return hit;
}

/* The database, its WAL, or the backup at `backup` holds the bytes. */
static int db_files_hold(const testdb *t, const char *backup, const void *needle, size_t n)
{
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", t->url);
    return file_holds(t->url, needle, n) || file_holds(wal, needle, n) ||
           (backup && file_holds(backup, needle, n));
}

/* A face image: a recognisable marker spread over `len` bytes. */
static unsigned char *face_bytes(const char *who, size_t len)
{
    unsigned char *b = malloc(len);
    for (size_t i = 0; i < len; i++)
        b[i] = (unsigned char)who[i % strlen(who)] ^ (unsigned char)(i / 997);
    return b;
}

/* Deleting a person (or one face) must take their face images and
 * embeddings out of the files, not only out of the tables: SQLite keeps
 * freed pages and the WAL keeps old page images, so without secure_delete
 * and a truncating checkpoint the crops could be read back from rollcall.db,
 * its -wal file, or a backup made after the delete. */
static void deleted_faces_leave_no_trace_in_the_files(void **state)
{
    testdb *t = *state;
    if (testdb_is_pg()) {
        /* PostgreSQL's files are the server's: README says what applies (VACUUM). */
        printf("# deleted faces: SQLite files only\n");
        return;
    }
    store *s = t->s;
    int64_t gone = add_person(s, "GONE", "Gone Person"), kept = add_person(s, "KEPT", "Kept");
    enum { BIG = 20000, SMALL = 300, DIM = 512 };
    unsigned char *big = face_bytes("GONE-FACE-BIG:", BIG),
                  *small = face_bytes("GONE-SMALL:", SMALL);
    unsigned char *other = face_bytes("ALONE-FACE:", SMALL),
                  *lone = face_bytes("SINGLE-FACE:", BIG);
    unsigned char *seen = face_bytes("GONE-SIGHTED:", BIG);
    float emb_gone[DIM], emb_kept[DIM];
    for (int i = 0; i < DIM; i++) {
        emb_gone[i] = 0.0123f + (float)i * 1.0e-4f;
        emb_kept[i] = -0.0456f - (float)i * 1.0e-4f;
    }
    store_face f1 = {.person_id = gone, .dim = DIM}, f2, f3, fk;
    snprintf(f1.model, sizeof f1.model, "m");
    f2 = f1;
    OK(store_face_add(s, &f1, emb_gone, big, BIG, &e_));
    OK(store_face_add(s, &f2, emb_gone, small, SMALL, &e_));
    fk = f1;
    fk.person_id = kept;
    OK(store_face_add(s, &fk, emb_kept, other, SMALL, &e_));
    f3 = fk;
    OK(store_face_add(s, &f3, emb_kept, lone, BIG, &e_));
    store_sighting sg = {.ts_ms = 5, .candidate_person_id = gone, .confidence = 0.3};
    OK(store_sighting_add(s, &sg, seen, BIG, &e_));
    /* Before: everything is there (the search can find it). */
    assert_true(db_files_hold(t, NULL, big + 100, 64));
    assert_true(db_files_hold(t, NULL, small + 10, 64));
    assert_true(db_files_hold(t, NULL, emb_gone + 8, 64));

    OK(store_person_delete(s, gone, "admin", &e_));
    OK(store_face_delete(s, f3.id, "admin", &e_)); /* one face of a kept person */
    char backup[600];
    snprintf(backup, sizeof backup, "%s/after-delete.db", t->dir);
    OK(store_backup(s, backup, &e_));
    assert_false(db_files_hold(t, backup, big + 100, 64));
    assert_false(db_files_hold(t, backup, big + BIG - 80, 64));
    assert_false(db_files_hold(t, backup, small + 10, 64));
    assert_false(db_files_hold(t, backup, seen + 5000, 64));
    assert_false(db_files_hold(t, backup, lone + 7000, 64));
    assert_false(db_files_hold(t, backup, emb_gone + 8, 64));
    assert_false(db_files_hold(t, backup, emb_gone + DIM - 20, 64));
    /* What was not deleted is still there, in the database and the backup. */
    assert_true(file_holds(backup, other + 10, 64));
    assert_true(file_holds(backup, emb_kept + 8, 64));
    unsigned char *img;
    size_t len;
    OK(store_face_image(s, fk.id, &img, &len, &e_));
    assert_memory_equal(img, other, SMALL);
    free(img);
    free(big);
    free(small);
    free(other);
    free(lone);
    free(seen);
}

/* The same inside a caller's transaction (store_tx_begin/end, as "not this
 * person" deletes the face that matched and voids or removes the event): the
 * checkpoint cannot run in the transaction, so store_tx_end runs it once the
 * transaction has committed. A removed event's probe (the face as the camera
 * saw it) goes from the files too. */
static void deleted_faces_leave_no_trace_inside_a_transaction(void **state)
{
    testdb *t = *state;
    if (testdb_is_pg()) {
        printf("# deleted faces in a transaction: SQLite files only\n");
        return;
    }
    store *s = t->s;
    enum { BIG = 20000, DIM = 512 };
    int64_t who = add_person(s, "TXGONE", "Tx Gone");
    unsigned char *crop = face_bytes("TX-FACE-CROP:", BIG), *probe = face_bytes("TX-PROBE:", BIG);
    float emb[DIM];
    for (int i = 0; i < DIM; i++) emb[i] = 0.0321f + (float)i * 1.0e-4f;
    store_face f = {.person_id = who, .dim = DIM};
    snprintf(f.model, sizeof f.model, "m");
    OK(store_face_add(s, &f, emb, crop, BIG, &e_));
    store_event ev = {.person_id = who, .ts_ms = 1000, .face_id = f.id};
    snprintf(ev.kind, sizeof ev.kind, "entry");
    snprintf(ev.slot_day, sizeof ev.slot_day, "2026-01-05");
    OK(store_event_insert(s, &ev, &e_));
    store_sighting pr = {.ts_ms = 1000, .event_id = ev.id};
    snprintf(pr.reason, sizeof pr.reason, "recognized");
    OK(store_event_probe_set(s, &pr, probe, BIG, &e_));
    assert_true(db_files_hold(t, NULL, crop + 100, 64));
    assert_true(db_files_hold(t, NULL, probe + 100, 64));

    rc_error err;
    assert_int_equal(store_tx_begin(s, 0, &err), RC_OK);
    rc_status st = store_event_remove(s, ev.id, "admin", "not this person", &err);
    if (st == RC_OK) st = store_face_delete(s, f.id, "admin", &err);
    assert_int_equal(store_tx_end(s, st, &err), RC_OK);
    char backup[600];
    snprintf(backup, sizeof backup, "%s/after-tx-delete.db", t->dir);
    OK(store_backup(s, backup, &e_));
    assert_false(db_files_hold(t, backup, crop + 100, 64));
    assert_false(db_files_hold(t, backup, crop + BIG - 80, 64));
    assert_false(db_files_hold(t, backup, emb + 8, 64));
    assert_false(db_files_hold(t, backup, probe + 100, 64));
    /* Outside any transaction: an event removed with its probe. */
    store_event ev2 = ev;
    ev2.id = 0;
    ev2.face_id = 0;
    OK(store_event_insert(s, &ev2, &e_));
    pr = (store_sighting){.ts_ms = 2000, .event_id = ev2.id};
    snprintf(pr.reason, sizeof pr.reason, "recognized");
    OK(store_event_probe_set(s, &pr, crop, BIG, &e_));
    assert_true(db_files_hold(t, NULL, crop + 100, 64));
    OK(store_event_remove(s, ev2.id, "admin", "typo", &e_));
    assert_false(db_files_hold(t, NULL, crop + 100, 64));
    free(crop);
    free(probe);
}

/* Ids are never handed out twice: deleting the newest person, face or user
 * and creating another gives a new number (SQLite would otherwise reuse
 * max(id) + 1 and the audit trail, links and exports naming the deleted
 * record would point at the new one). */
static void ids_are_never_reused_after_delete(void **state)
{
    store *s = S(state);
    add_person(s, "R1", "First");
    int64_t last = add_person(s, "R2", "Second");
    OK(store_person_delete(s, last, "t", &e_));
    int64_t next = add_person(s, "R3", "Third");
    assert_true(next > last);

    float emb[8] = {1};
    store_face f = {.person_id = next, .dim = 8};
    snprintf(f.model, sizeof f.model, "m");
    OK(store_face_add(s, &f, emb, NULL, 0, &e_));
    int64_t face = f.id;
    OK(store_face_delete(s, face, "t", &e_));
    OK(store_face_add(s, &f, emb, NULL, 0, &e_));
    assert_true(f.id > face);

    store_user u = {.active = 1};
    snprintf(u.email, sizeof u.email, "a@x.org");
    snprintf(u.role, sizeof u.role, "member");
    OK(store_user_create(s, &u, &e_));
    int64_t uid = u.id;
    OK(store_user_delete(s, uid, &e_));
    snprintf(u.email, sizeof u.email, "b@x.org");
    OK(store_user_create(s, &u, &e_));
    assert_true(u.id > uid);
}

/* Lock-out per account and source address, with waits that grow: failures
 * from one address never make the account wait at another, each failure
 * past the free ones doubles the wait, and clearing (unlock, new password)
 * ends it. */
static void login_lockout_is_per_address_with_backoff(void **state)
{
    store *s = S(state);
    const char *who = "admin@example.org", *evil = "203.0.113.66", *home = "192.0.2.10";
    int64_t t0 = 1700000000000LL, wait = -1;
    for (int i = 0; i < STORE_LOGIN_FREE_FAILURES - 1; i++)
        OK(store_login_failure_add(s, who, evil, t0 + i, &e_));
    OK(store_login_wait(s, who, evil, t0 + 10, &wait, &e_));
    assert_int_equal(wait, 0); /* four failures are free */
    OK(store_login_failure_add(s, who, evil, t0 + 10, &e_));
    OK(store_login_wait(s, who, evil, t0 + 11, &wait, &e_));
    int64_t first = wait;
    assert_int_equal(first, STORE_LOGIN_BACKOFF_MS - 1);
    OK(store_login_wait(s, who, home, t0 + 11, &wait, &e_));
    assert_int_equal(wait, 0); /* the owner's address is not locked */
    OK(store_login_wait(s, "other@example.org", evil, t0 + 11, &wait, &e_));
    assert_int_equal(wait, 0); /* nor another account */
    /* After the wait, one more failure: the next wait is twice as long. */
    int64_t t1 = t0 + 10 + first + 1;
    OK(store_login_wait(s, who, evil, t1, &wait, &e_));
    assert_int_equal(wait, 0);
    OK(store_login_failure_add(s, who, evil, t1, &e_));
    OK(store_login_wait(s, who, evil, t1, &wait, &e_));
    assert_int_equal(wait, 2 * STORE_LOGIN_BACKOFF_MS);
    /* Many more: capped. */
    for (int i = 0; i < 20; i++) OK(store_login_failure_add(s, who, evil, t1 + i, &e_));
    OK(store_login_wait(s, who, evil, t1 + 19, &wait, &e_));
    assert_int_equal(wait, STORE_LOGIN_BACKOFF_MAX_MS);
    /* A success from the owner's address forgets only its own failures. */
    OK(store_login_failure_add(s, who, home, t1, &e_));
    OK(store_login_failure_clear(s, who, home, &e_));
    int64_t n = 0;
    OK(store_login_failure_count(s, who, evil, 0, &n, &e_));
    assert_int_equal(n, 26);
    /* A day later the failures no longer count, and are purged. */
    OK(store_login_wait(s, who, evil, t1 + 25 * 3600 * 1000LL, &wait, &e_));
    assert_int_equal(wait, 0);
    int64_t purged = 0;
    OK(store_login_failure_purge(s, t1 + 25 * 3600 * 1000LL, &purged, &e_));
    assert_int_equal(purged, 26);
    OK(store_login_failure_add(s, who, evil, t1, &e_));
    /* An unlock forgets every address. */
    OK(store_login_failure_clear(s, who, NULL, &e_));
    OK(store_login_wait(s, who, evil, t1 + 20, &wait, &e_));
    assert_int_equal(wait, 0);
}

/* A password change ends the user's other sessions and keeps the current
 * one; expired sessions are purged. */
static void sessions_end_on_password_change(void **state)
{
    store *s = S(state);
    store_user u = {.active = 1};
    snprintf(u.email, sizeof u.email, "me@x.org");
    snprintf(u.role, sizeof u.role, "admin");
    OK(store_user_create(s, &u, &e_));
    store_user other = u;
    snprintf(other.email, sizeof other.email, "you@x.org");
    OK(store_user_create(s, &other, &e_));
    const char *mine[] = {"here", "phone", "laptop"};
    for (int i = 0; i < 3; i++) {
        store_session se = {.user_id = u.id, .created_ms = 1, .expires_ms = INT64_MAX / 2};
        snprintf(se.token_hash, sizeof se.token_hash, "%s", mine[i]);
        OK(store_session_create(s, &se, &e_));
    }
    store_session yours = {.user_id = other.id, .created_ms = 1, .expires_ms = INT64_MAX / 2};
    snprintf(yours.token_hash, sizeof yours.token_hash, "yours");
    OK(store_session_create(s, &yours, &e_));
    OK(store_session_delete_others(s, u.id, "here", &e_));
    store_session got;
    rc_error err;
    OK(store_session_get(s, "here", 2, &got, &e_));
    assert_int_equal(store_session_get(s, "phone", 2, &got, &err), RC_ERR_NOT_FOUND);
    assert_int_equal(store_session_get(s, "laptop", 2, &got, &err), RC_ERR_NOT_FOUND);
    OK(store_session_get(s, "yours", 2, &got, &e_));
}

/* Upgrading a populated version 2 database to version 3: every row and
 * every reference stays (on SQLite the id tables are rebuilt with
 * AUTOINCREMENT), deletes still cascade, old login failures count as from
 * no known address, and the id of a person deleted before the upgrade (the
 * newest one, which SQLite would have handed out again) is not reused. */
static void upgrade_from_v2_keeps_data_and_never_reuses_ids(void **state)
{
    testdb *t = *state;
    char url[600];
    database_at_version(t, 2, url, sizeof url);
    store *s;
    raw_sql(url,
            "INSERT INTO persons (external_id, name, first_name, last_name, created_ms,"
            " updated_ms) VALUES ('P1', 'Ada L', 'Ada', 'L', 1, 1), ('P2', 'Bo', 'Bo', '', 1, 1),"
            " ('P3', 'Cy', 'Cy', '', 1, 1), ('P4', 'Di', 'Di', '', 1, 1);"
            "INSERT INTO audit (ts_ms, actor, action, target_type, target_id)"
            " SELECT 2, 'admin', 'person.delete', 'person', id FROM persons"
            " WHERE external_id = 'P4';"
            "DELETE FROM persons WHERE external_id = 'P4';"
            "INSERT INTO person_groups (name, created_ms) VALUES ('G', 1);"
            "INSERT INTO group_members (group_id, person_id) SELECT g.id, p.id"
            " FROM person_groups g, persons p;"
            "INSERT INTO cameras (name, created_ms) VALUES ('door', 1);"
            "INSERT INTO users (email, name, role, created_ms, updated_ms, person_id)"
            " SELECT 'ada@x.org', 'Ada', 'member', 1, 1, id FROM persons"
            " WHERE external_id = 'P1';"
            "INSERT INTO sessions (token_hash, user_id, csrf, created_ms, expires_ms)"
            " SELECT 'tok', id, 'c', 1, 99999999999999 FROM users;"
            "INSERT INTO api_keys (name, prefix, key_hash, role, created_ms, camera_id)"
            " SELECT 'door', 'kp', 'h', 'device', 1, id FROM cameras;"
            "INSERT INTO login_failures (email, ts_ms) VALUES ('ada@x.org', 5);");
    raw_sql(url, testdb_is_pg() ? "INSERT INTO faces (person_id, model, dim, embedding, image,"
                                  " created_ms) SELECT id, 'm', 1, convert_to('abcd', 'UTF8'),"
                                  " convert_to('abcd', 'UTF8'), 1 FROM persons"
                                : "INSERT INTO faces (person_id, model, dim, embedding, image,"
                                  " created_ms) SELECT id, 'm', 1, CAST('abcd' AS BLOB),"
                                  " CAST('abcd' AS BLOB), 1 FROM persons");
    OK(store_open(url, 0, &s, &e_));
    store_migration *m;
    size_t n;
    OK(store_migrations(s, &m, &n, &e_));
    for (size_t i = 0; i < n; i++) assert_true(m[i].applied_ms > 0);
    free(m);
    store_person p1, p2;
    OK(store_person_get_by_external(s, "P1", &p1, &e_));
    assert_string_equal(p1.first_name, "Ada");
    OK(store_person_get_by_external(s, "P2", &p2, &e_));
    store_face *faces;
    OK(store_face_list(s, p1.id, &faces, &n, &e_));
    assert_int_equal(n, 1);
    unsigned char *img;
    size_t len;
    OK(store_face_image(s, faces[0].id, &img, &len, &e_));
    assert_int_equal(len, 4);
    assert_memory_equal(img, "abcd", 4);
    free(img);
    free(faces);
    store_user u;
    OK(store_user_get_by_email(s, "ada@x.org", &u, &e_));
    assert_int_equal(u.person_id, p1.id);
    store_session se;
    OK(store_session_get(s, "tok", 2, &se, &e_));
    assert_int_equal(se.user_id, u.id);
    store_api_key k;
    OK(store_api_key_get_by_prefix(s, "kp", &k, &e_));
    assert_true(k.camera_id > 0);
    int64_t *ids;
    OK(store_person_groups(s, p2.id, &ids, &n, &e_));
    assert_int_equal(n, 1);
    free(ids);
    int64_t fails = 0;
    OK(store_login_failure_count(s, "ada@x.org", NULL, 0, &fails, &e_));
    assert_int_equal(fails, 1);
    /* The deleted P4's id is not handed out again. */
    store_audit *au;
    int64_t total;
    OK(store_audit_list(s, "person", 0, (store_page){0}, &au, &n, &total, &e_));
    assert_int_equal(n, 1);
    int64_t deleted = au[0].target_id;
    free(au);
    assert_true(deleted > p2.id);
    int64_t fresh = add_person(s, "P5", "Eve");
    assert_true(fresh > deleted);
    /* References still work both ways: deleting a person cascades, deleting
     * the camera unlinks the key, deleting the user ends its session. */
    OK(store_person_delete(s, p2.id, "t", &e_));
    OK(store_face_list(s, p2.id, &faces, &n, &e_));
    assert_int_equal(n, 0);
    free(faces);
    OK(store_camera_delete(s, k.camera_id, &e_));
    OK(store_api_key_get_by_prefix(s, "kp", &k, &e_));
    assert_int_equal(k.camera_id, 0);
    OK(store_user_delete(s, u.id, &e_));
    rc_error err;
    assert_int_equal(store_session_get(s, "tok", 2, &se, &err), RC_ERR_NOT_FOUND);
    char ok[256];
    OK(store_check(s, ok, sizeof ok, &e_));
    assert_string_equal(ok, "ok");
    store_close(s);
    if (!testdb_is_pg()) {
        /* The indexes came back with the rebuilt tables. */
        sqlite3 *db;
        assert_int_equal(sqlite3_open(url, &db), SQLITE_OK);
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "SELECT count(*) FROM sqlite_master WHERE type = "
                                            "'index' AND name IN ('persons_name', 'faces_person',"
                                            " 'users_person', 'api_keys_camera')",
                                            -1, &st, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        assert_int_equal(sqlite3_column_int(st, 0), 4);
        sqlite3_finalize(st);
        sqlite3_close(db);
    }
    if (testdb_is_pg()) OK(store_open(t->url, 0, &t->s, &e_));
}

static void a_newer_schema_is_refused_and_kept(void **state)
{
    testdb *t = *state;
    rc_error err;
    int64_t id = add_person(t->s, "N1", "From the future");
    store_close(t->s);
    t->s = NULL;
    /* Pretend a newer rollcall migrated this database. */
    if (testdb_is_pg()) {
        PGconn *pg = PQconnectdb(t->url);
        PQclear(PQexec(pg, "INSERT INTO schema_migrations VALUES (999, 'future', 1)"));
        PQfinish(pg);
    } else {
        char cmd[700];
        snprintf(cmd, sizeof cmd,
                 "sqlite3 %s \"INSERT INTO schema_migrations VALUES (999, 'future', 1)\"", t->url);
        assert_int_equal(system(cmd), 0);
    }
    store *s;
    assert_int_equal(store_open(t->url, 0, &s, &err), RC_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "999"));
    OK(store_open(t->url, STORE_OPEN_NO_MIGRATE, &t->s, &e_));
    store_person p;
    OK(store_person_get(t->s, id, &p, &e_));
}

typedef struct {
    store *s;
    int64_t person;
    volatile int stop;
    int written;
} busy_arg;

static void *busy_writer(void *p)
{
    busy_arg *b = p;
    while (!b->stop) {
        store_event e = {.person_id = b->person, .ts_ms = 1 + b->written};
        snprintf(e.kind, sizeof e.kind, "entry");
        snprintf(e.slot_day, sizeof e.slot_day, "2026-01-01");
        rc_error err;
        if (store_event_insert(b->s, &e, &err) != RC_OK) break;
        b->written++;
    }
    return NULL;
}

static void backup_while_writers_write(void **state)
{
    testdb *t = *state;
    if (testdb_is_pg()) return; /* pg_dump's job */
    busy_arg b = {.s = t->s, .person = add_person(t->s, "BW", "Busy")};
    for (int i = 0; i < 200; i++) { /* some pages to copy */
        store_person p = {.active = 1};
        snprintf(p.name, sizeof p.name, "filler %d with a longer name to take up room", i);
        OK(store_person_create(t->s, &p, &e_));
    }
    pthread_t th;
    pthread_create(&th, NULL, busy_writer, &b);
    while (b.written < 20) usleep(1000);
    char path[400];
    snprintf(path, sizeof path, "%s/hot.db", t->dir);
    OK(store_backup(t->s, path, &e_));
    b.stop = 1;
    pthread_join(th, NULL);
    store *copy;
    OK(store_open(path, 0, &copy, &e_));
    char ok[256];
    OK(store_check(copy, ok, sizeof ok, &e_));
    assert_string_equal(ok, "ok");
    int64_t total;
    store_event *ev;
    size_t n;
    OK(store_event_list(copy, NULL, (store_page){.limit = 1}, &ev, &n, &total, &e_));
    free(ev);
    assert_true(total >= 20 && total <= b.written); /* a consistent snapshot */
    store_close(copy);
}

/* Durability: a child writes events as fast as it can and prints each id
 * once store_event_insert returned (= acknowledged). The parent kills it
 * with SIGKILL mid-burst; every printed id must be in the database, and the
 * database must pass its integrity check. */
static void acknowledged_events_survive_sigkill(void **state)
{
    testdb *t = *state;
    int64_t person = add_person(t->s, "K", "Killed Writer");
    store_close(t->s); /* no connection shared with the child */
    t->s = NULL;
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fd[0]);
        store *s;
        rc_error err;
        if (store_open(t->url, 0, &s, &err) != RC_OK) _exit(3);
        for (int i = 0; i < 1000000; i++) {
            store_event e = {.person_id = person, .ts_ms = 1700000000000LL + i, .confidence = 0.9};
            snprintf(e.kind, sizeof e.kind, "entry");
            snprintf(e.slot_day, sizeof e.slot_day, "2026-01-01");
            if (store_event_insert(s, &e, &err) != RC_OK) _exit(4);
            char line[32];
            int n = snprintf(line, sizeof line, "%lld\n", (long long)e.id);
            if (write(fd[1], line, (size_t)n) != n) _exit(5);
        }
        _exit(6);
    }
    close(fd[1]);
    FILE *in = fdopen(fd[0], "r");
    int64_t *ids = malloc(2000000 * sizeof *ids);
    size_t n = 0;
    long long v;
    while (n < 300 && fscanf(in, "%lld", &v) == 1) ids[n++] = v;
    kill(pid, SIGKILL);
    /* Lines already in the pipe were acknowledged before the kill. */
    while (fscanf(in, "%lld", &v) == 1) ids[n++] = v;
    fclose(in);
    int status;
    waitpid(pid, &status, 0);
    assert_true(WIFSIGNALED(status));
    assert_true(n >= 300);

    OK(store_open(t->url, 0, &t->s, &e_));
    char ok[256];
    OK(store_check(t->s, ok, sizeof ok, &e_));
    assert_string_equal(ok, "ok");
    for (size_t i = 0; i < n; i++) {
        store_event e;
        rc_error err;
        if (store_event_get(t->s, ids[i], &e, &err) != RC_OK)
            fail_msg("acknowledged event %lld is missing: %s", (long long)ids[i], err.msg);
        assert_int_equal(e.person_id, person);
    }
    int64_t total;
    store_event *ev;
    size_t m;
    store_event_filter f = {.person_id = person};
    OK(store_event_list(t->s, &f, (store_page){.limit = 1}, &ev, &m, &total, &e_));
    free(ev);
    /* At most the one in flight at the kill is there without an ack. */
    assert_true(total >= (int64_t)n && total <= (int64_t)n + 1);
    free(ids);
}

/* A group-limited manager's scope and the status filter are applied in SQL,
 * so paging runs over the whole table: with 10 050 events of people outside
 * the scope first, the scoped list still finds, counts and pages the scoped
 * person's events after them. A limited manager with no groups left sees
 * nobody, never everybody. */
static void scoped_lists_page_over_the_whole_table(void **state)
{
    testdb *t = *state;
    store *s = t->s;
    int64_t in = add_person(s, "IN", "Inside"), out = add_person(s, "OUT", "Outside");
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "Scope");
    OK(store_group_create(s, &g, &e_));
    OK(store_group_add_member(s, g.id, in, &e_));
    store_user boss = {.active = 1, .group_limited = 1};
    snprintf(boss.email, sizeof boss.email, "boss@x.org");
    snprintf(boss.name, sizeof boss.name, "Boss");
    snprintf(boss.role, sizeof boss.role, "manager");
    OK(store_user_create(s, &boss, &e_));
    OK(store_user_set_groups(s, boss.id, &g.id, 1, &e_));
    store_user again;
    OK(store_user_get(s, boss.id, &again, &e_));
    assert_int_equal(again.group_limited, 1);
    OK(store_tx_begin(s, 0, &e_));
    for (int i = 0; i < 10050; i++) {
        store_event e = {.person_id = out, .ts_ms = 1000 + i, .sightings = 1};
        snprintf(e.kind, sizeof e.kind, "entry");
        snprintf(e.status, sizeof e.status, "on_time");
        snprintf(e.slot_day, sizeof e.slot_day, "2026-03-02");
        OK(store_event_insert(s, &e, &e_));
    }
    OK(store_tx_end(s, RC_OK, &e_));
    for (int i = 0; i < 3; i++) {
        store_event e = {.person_id = in, .ts_ms = 100000 + i, .sightings = 1};
        snprintf(e.kind, sizeof e.kind, "entry");
        snprintf(e.status, sizeof e.status, i == 1 ? "late" : "on_time");
        snprintf(e.slot_day, sizeof e.slot_day, "2026-03-02");
        OK(store_event_insert(s, &e, &e_));
    }
    store_event *ev;
    size_t n;
    int64_t total;
    store_event_filter f = {.scope_user_id = boss.id};
    OK(store_event_list(s, &f, (store_page){.limit = 2, .offset = 1}, &ev, &n, &total, &e_));
    assert_int_equal(total, 3);
    assert_int_equal(n, 2);
    assert_int_equal(ev[0].person_id, in);
    assert_int_equal(ev[0].ts_ms, 100001);
    free(ev);
    f = (store_event_filter){.status = "late"};
    OK(store_event_list(s, &f, (store_page){0}, &ev, &n, &total, &e_));
    assert_int_equal(total, 1);
    assert_int_equal(ev[0].ts_ms, 100001);
    free(ev);
    store_person_filter pf = {.scope_user_id = boss.id};
    store_person *ps;
    OK(store_person_list(s, &pf, (store_page){0}, &ps, &n, &total, &e_));
    assert_int_equal(total, 1);
    assert_int_equal(ps[0].id, in);
    free(ps);
    int64_t face_person = 0;
    assert_int_equal(store_face_person(s, 987654, &face_person, NULL), RC_ERR_NOT_FOUND);
    /* The manager's last group goes: still limited, now to nobody. */
    OK(store_group_delete(s, g.id, &e_));
    OK(store_user_get(s, boss.id, &again, &e_));
    assert_int_equal(again.group_limited, 1);
    f = (store_event_filter){.scope_user_id = boss.id};
    OK(store_event_list(s, &f, (store_page){0}, &ev, &n, &total, &e_));
    assert_int_equal(total, 0);
    free(ev);
    OK(store_person_list(s, &pf, (store_page){0}, &ps, &n, &total, &e_));
    assert_int_equal(total, 0);
    free(ps);
}

/* v7 rebuilds events once more (from the one definition migrations 1 and 5
 * use) to allow source "self": a version 6 database's events, including a
 * voided "pin" one, come through with their ids; "self" is accepted after,
 * anything else still refused. Persons get `pending`: a pending person is
 * out of person lists (unless asked for) and out of the gallery even when
 * active. */
static void upgrade_to_v7_allows_self_and_pending(void **state)
{
    testdb *t = *state;
    char url[600];
    database_at_version(t, 6, url, sizeof url);
    raw_sql(url,
            "INSERT INTO persons (external_id, name, first_name, created_ms, updated_ms)"
            " VALUES ('S1', 'Ada', 'Ada', 1, 1);"
            "INSERT INTO events (id, person_id, ts_ms, last_seen_ms, kind, slot_day, source,"
            " reason, created_ms, updated_ms, voided_ms) SELECT 41, id, 5000, 5000, 'entry',"
            " '2026-01-05', 'pin', 'typed', 1, 1, 7000 FROM persons WHERE external_id = 'S1';");
    store *s;
    OK(store_open(url, 0, &s, &e_));
    store_event e;
    OK(store_event_get(s, 41, &e, &e_));
    assert_string_equal(e.source, "pin");
    assert_int_equal(e.voided_ms, 7000);
    assert_string_equal(e.reason, "typed");
    store_event ne = {
        .person_id = e.person_id, .ts_ms = 9000, .last_seen_ms = 9000, .sightings = 1};
    snprintf(ne.kind, sizeof ne.kind, "entry");
    snprintf(ne.slot_day, sizeof ne.slot_day, "2026-01-05");
    snprintf(ne.source, sizeof ne.source, "self");
    OK(store_event_insert(s, &ne, &e_));
    assert_true(ne.id > 41);
    OK(store_event_get(s, ne.id, &e, &e_));
    assert_string_equal(e.source, "self");
    snprintf(ne.source, sizeof ne.source, "phone");
    rc_error err;
    assert_int_equal(store_event_insert(s, &ne, &err), RC_ERR_INVALID);

    /* A pending person, active or not, is neither listed nor in the gallery. */
    store_person p = {.active = 1, .pending = 1};
    snprintf(p.first_name, sizeof p.first_name, "Pending");
    OK(store_person_create(s, &p, &e_));
    float emb[4] = {1, 0, 0, 0};
    store_face f = {.person_id = p.id, .dim = 4};
    snprintf(f.model, sizeof f.model, "m");
    OK(store_face_add(s, &f, emb, NULL, 0, &e_));
    store_gallery g;
    OK(store_gallery_load(s, "m", &g, &e_));
    assert_int_equal(g.count, 0);
    store_gallery_free(&g);
    store_person *ps;
    size_t n;
    int64_t total;
    OK(store_person_list(s, NULL, (store_page){0}, &ps, &n, &total, &e_));
    assert_int_equal(n, 1); /* Ada only */
    free(ps);
    store_person_filter pf = {.pending = 1};
    OK(store_person_list(s, &pf, (store_page){0}, &ps, &n, &total, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(ps[0].id, p.id);
    assert_int_equal(ps[0].pending, 1);
    free(ps);
    /* Approved: pending 0 puts their face in the gallery. */
    p.pending = 0;
    OK(store_person_update(s, &p, &e_));
    OK(store_gallery_load(s, "m", &g, &e_));
    assert_int_equal(g.count, 1);
    store_gallery_free(&g);
    store_close(s);
}

/* Erasing biometric data only: faces, embeddings, the photo and the
 * sightings that best matched go (from the files too); the person, their
 * groups and attendance history stay; the audit entry counts what went. */
static void erasing_biometrics_keeps_the_person_and_history(void **state)
{
    testdb *t = *state;
    store *s = t->s;
    rc_error err;
    int64_t a = add_person(s, "BIO-1", "Bio Person"), b = add_person(s, "BIO-2", "Other");
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "G");
    OK(store_group_create(s, &g, &e_));
    OK(store_group_add_member(s, g.id, a, &e_));
    enum { LEN = 20000, DIM = 512 };
    unsigned char *img = face_bytes("BIO-FACE-IMAGE:", LEN);
    float emb[DIM];
    for (int i = 0; i < DIM; i++) emb[i] = 0.031f + (float)i * 2.0e-4f;
    store_face f = {.person_id = a, .dim = DIM}, f2, fb;
    snprintf(f.model, sizeof f.model, "m");
    f2 = f;
    OK(store_face_add(s, &f, emb, img, LEN, &e_));
    OK(store_face_add(s, &f2, emb, img, 100, &e_));
    fb = f;
    fb.person_id = b;
    float emb_b[DIM];
    for (int i = 0; i < DIM; i++) emb_b[i] = -emb[i];
    OK(store_face_add(s, &fb, emb_b, NULL, 0, &e_));
    store_person p;
    OK(store_person_get(s, a, &p, &e_));
    p.photo_face_id = f.id;
    OK(store_person_update(s, &p, &e_));
    store_event ev = {.person_id = a, .ts_ms = 1000};
    snprintf(ev.kind, sizeof ev.kind, "entry");
    snprintf(ev.slot_day, sizeof ev.slot_day, "2026-01-05");
    OK(store_event_insert(s, &ev, &e_));
    store_sighting sg = {.ts_ms = 5, .candidate_person_id = a, .confidence = 0.4};
    OK(store_sighting_add(s, &sg, "face", 4, &e_));
    int64_t v0;
    OK(store_gallery_version(s, &v0, &e_));

    store_erase er;
    OK(store_person_erase_biometrics(s, a, "admin", &er, &e_));
    assert_int_equal(er.faces, 2);
    assert_int_equal(er.sightings, 1);
    assert_int_equal(er.photo, 1);
    assert_int_equal(er.events, 0);
    OK(store_person_get(s, a, &p, &e_)); /* still there, without a photo */
    assert_int_equal(p.photo_face_id, 0);
    store_face *faces;
    size_t n;
    OK(store_face_list(s, a, &faces, &n, &e_));
    assert_int_equal(n, 0);
    free(faces);
    OK(store_event_get(s, ev.id, &ev, &e_)); /* history kept */
    int64_t *gids;
    OK(store_person_groups(s, a, &gids, &n, &e_));
    assert_int_equal(n, 1);
    free(gids);
    store_gallery gal;
    OK(store_gallery_load(s, NULL, &gal, &e_));
    assert_int_equal(gal.count, 1);
    assert_int_equal(gal.person_ids[0], b);
    store_gallery_free(&gal);
    int64_t v1;
    OK(store_gallery_version(s, &v1, &e_));
    assert_true(v1 > v0);
    /* Frames in flight during the erase, identified against the gallery
     * from before it, come back afterwards: a face crop naming the erased
     * person (an event's probe, a sighting for review) is not kept. They
     * used to be, and outlived the erase. Another person's still are. */
    store_sighting late = {.ts_ms = 7, .candidate_person_id = a, .confidence = 0.4};
    snprintf(late.reason, sizeof late.reason, "below_threshold");
    OK(store_sighting_add(s, &late, "late-face", 9, &e_));
    assert_int_equal(late.id, 0);
    store_sighting probe = {.ts_ms = 8, .candidate_person_id = a, .event_id = ev.id};
    snprintf(probe.reason, sizeof probe.reason, "recognized");
    OK(store_event_probe_set(s, &probe, "late-probe", 10, &e_));
    assert_int_equal(probe.id, 0);
    int64_t released;
    assert_int_equal(store_event_probe_release(s, ev.id, "corrected", &released, &err),
                     RC_ERR_NOT_FOUND);
    store_sighting other = {.ts_ms = 9, .candidate_person_id = b, .confidence = 0.4};
    snprintf(other.reason, sizeof other.reason, "below_threshold");
    OK(store_sighting_add(s, &other, "b-face", 6, &e_));
    assert_true(other.id > 0);
    store_sighting *kept;
    int64_t nkept;
    OK(store_sighting_list(s, NULL, (store_page){0}, &kept, &n, &nkept, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(kept[0].id, other.id);
    free(kept);
    if (!testdb_is_pg()) {
        assert_false(db_files_hold(t, NULL, img + 100, 64));
        assert_false(db_files_hold(t, NULL, emb + 8, 64));
    }
    free(img);
    store_audit *au;
    int64_t total;
    OK(store_audit_list(s, "person", a, (store_page){0}, &au, &n, &total, &e_));
    assert_true(n >= 1);
    assert_string_equal(au[0].action, "person.erase_biometrics");
    assert_non_null(strstr(au[0].detail, "\"faces\":2"));
    assert_non_null(strstr(au[0].detail, "\"sightings\":1"));
    assert_null(strstr(au[0].detail, "BIO-1"));
    free(au);
    assert_int_equal(store_person_erase_biometrics(s, 98765, "x", NULL, &err), RC_ERR_NOT_FOUND);

    /* A full erase afterwards blanks what earlier entries said about them. */
    OK(store_audit_add(s, "admin", "person.create", "person", a, "{\"external_id\":\"BIO-1\"}",
                       &e_));
    OK(store_person_erase(s, a, "admin", &er, &e_));
    assert_int_equal(er.events, 1);
    assert_int_equal(er.memberships, 1);
    assert_int_equal(er.faces, 0);
    assert_true(er.audit_redacted >= 2);
    OK(store_audit_list(s, "person", a, (store_page){0}, &au, &n, &total, &e_));
    for (size_t i = 0; i < n; i++) assert_null(strstr(au[i].detail, "BIO-1"));
    assert_string_equal(au[0].action, "person.erase");
    free(au);
}

/* A person's own view of their data counts what the biometric erase would
 * delete; withdrawing consent is that erase (the same rows, the same audit
 * entry, the same lock against frames in flight) plus the recorded consent
 * cleared, and keeps the attendance history. */
static void withdrawing_consent_is_the_biometric_erase_and_clears_consent(void **state)
{
    store *s = S(state);
    rc_error err;
    int64_t a = add_person(s, "WD-1", "Withdraw Me"), b = add_person(s, "WD-2", "Stays");
    store_person p;
    OK(store_person_get(s, a, &p, &e_));
    p.consent_ms = 1767225600000LL;
    OK(store_person_update(s, &p, &e_));
    OK(store_person_get(s, b, &p, &e_));
    p.consent_ms = 1767225600000LL;
    OK(store_person_update(s, &p, &e_));
    float emb[8] = {1, 0.5f};
    store_face f = {.person_id = a, .dim = 8}, f2, fb;
    snprintf(f.model, sizeof f.model, "m");
    f2 = f;
    fb = f;
    fb.person_id = b;
    OK(store_face_add(s, &f, emb, "a-face", 6, &e_));
    OK(store_face_add(s, &f2, emb, "a-face2", 7, &e_));
    OK(store_face_add(s, &fb, emb, "b-face", 6, &e_));
    OK(store_person_photo_fallback(s, a, &e_));
    store_event ev = {.person_id = a, .ts_ms = 1000}, ev2 = {.person_id = a, .ts_ms = 2000};
    snprintf(ev.kind, sizeof ev.kind, "entry");
    snprintf(ev.slot_day, sizeof ev.slot_day, "2026-01-05");
    ev2 = ev;
    ev2.ts_ms = 2000;
    OK(store_event_insert(s, &ev, &e_));
    OK(store_event_insert(s, &ev2, &e_));
    OK(store_event_void(s, ev2.id, "admin", "wrong", &e_));
    store_sighting sg = {.ts_ms = 5, .candidate_person_id = a, .confidence = 0.4};
    snprintf(sg.reason, sizeof sg.reason, "below_threshold");
    OK(store_sighting_add(s, &sg, "crop", 4, &e_));
    store_sighting probe = {.ts_ms = 6, .candidate_person_id = a, .event_id = ev.id};
    snprintf(probe.reason, sizeof probe.reason, "recognized");
    OK(store_event_probe_set(s, &probe, "probe", 5, &e_));
    assert_true(probe.id > 0);

    store_held h;
    OK(store_person_held(s, a, &h, &e_));
    assert_int_equal(h.faces, 2);
    assert_int_equal(h.photo, 1);
    assert_int_equal(h.sightings, 2);
    assert_int_equal(h.probes, 1);
    assert_int_equal(h.events, 2);
    assert_int_equal(h.voided, 1);
    assert_int_equal(store_person_held(s, 98765, &h, &err), RC_ERR_NOT_FOUND);

    int64_t v0, v1;
    OK(store_gallery_version(s, &v0, &e_));
    store_erase er;
    OK(store_person_withdraw_consent(s, a, "user:7", &er, &e_));
    /* What the held counts said, erased. */
    assert_int_equal(er.faces, 2);
    assert_int_equal(er.photo, 1);
    assert_int_equal(er.sightings, 2);
    assert_int_equal(er.consent, 1);
    assert_int_equal(er.events, 0);
    OK(store_gallery_version(s, &v1, &e_));
    assert_true(v1 > v0);
    OK(store_person_get(s, a, &p, &e_));
    assert_int_equal(p.consent_ms, 0);
    assert_int_equal(p.photo_face_id, 0);
    OK(store_person_held(s, a, &h, &e_));
    assert_int_equal(h.faces + h.photo + h.sightings + h.probes, 0);
    assert_int_equal(h.events, 2); /* history kept */
    assert_int_equal(h.voided, 1);
    store_gallery gal;
    OK(store_gallery_load(s, NULL, &gal, &e_));
    assert_int_equal(gal.count, 1);
    assert_int_equal(gal.person_ids[0], b);
    store_gallery_free(&gal);
    /* The other person is untouched, consent included. */
    OK(store_person_get(s, b, &p, &e_));
    assert_int_equal(p.consent_ms, 1767225600000LL);
    OK(store_person_held(s, b, &h, &e_));
    assert_int_equal(h.faces, 1);
    /* Frames in flight during the withdrawal keep no crop of her (the
     * erase's lock_person and "no face left" rule hold here too). */
    store_sighting late = {.ts_ms = 7, .candidate_person_id = a, .confidence = 0.4};
    snprintf(late.reason, sizeof late.reason, "below_threshold");
    OK(store_sighting_add(s, &late, "late-face", 9, &e_));
    assert_int_equal(late.id, 0);
    store_sighting lp = {.ts_ms = 8, .candidate_person_id = a, .event_id = ev.id};
    snprintf(lp.reason, sizeof lp.reason, "recognized");
    OK(store_event_probe_set(s, &lp, "late-probe", 10, &e_));
    assert_int_equal(lp.id, 0);
    /* Audited as the erase it is, with the consent in the counts. */
    store_audit *au;
    size_t n;
    int64_t total;
    OK(store_audit_list(s, "person", a, (store_page){0}, &au, &n, &total, &e_));
    assert_true(n >= 1);
    assert_string_equal(au[0].action, "person.erase_biometrics");
    assert_string_equal(au[0].actor, "user:7");
    assert_non_null(strstr(au[0].detail, "\"consent\":1"));
    assert_non_null(strstr(au[0].detail, "\"faces\":2"));
    free(au);
    /* Again: nothing left to erase, nothing to clear. */
    OK(store_person_withdraw_consent(s, a, "user:7", &er, &e_));
    assert_int_equal(er.faces + er.photo + er.sightings + er.consent, 0);
    assert_int_equal(store_person_withdraw_consent(s, 98765, "x", NULL, &err), RC_ERR_NOT_FOUND);
    /* The admin's erase never touches the consent. */
    OK(store_person_erase_biometrics(s, b, "admin", &er, &e_));
    assert_int_equal(er.consent, 0);
    OK(store_person_get(s, b, &p, &e_));
    assert_int_equal(p.consent_ms, 1767225600000LL);
    assert_int_equal(p.consent_withdrawn_ms, 0);
    OK(store_face_add(s, &fb, emb, "b-again", 7, &e_)); /* erased, consent kept: enrolled */
    /* Withdrawn: no face of hers is stored again until a new consent is
     * recorded, however it comes (an admin's upload, an import, a review). */
    OK(store_person_get(s, a, &p, &e_));
    assert_true(p.consent_withdrawn_ms > 0);
    assert_int_equal(p.consent_ms, 0);
    store_face again = {.person_id = a, .dim = 8};
    snprintf(again.model, sizeof again.model, "m");
    assert_int_equal(store_face_add(s, &again, emb, "a-again", 7, &err), RC_ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "withdrew their consent"));
    p.consent_ms = p.consent_withdrawn_ms - 1000; /* dated before the withdrawal: not new */
    OK(store_person_update(s, &p, &e_));
    assert_int_equal(store_face_add(s, &again, emb, "a-again", 7, &err), RC_ERR_CONFLICT);
    p.consent_ms = p.consent_withdrawn_ms + 1000;
    OK(store_person_update(s, &p, &e_));
    OK(store_face_add(s, &again, emb, "a-again", 7, &e_));
    OK(store_person_held(s, a, &h, &e_));
    assert_int_equal(h.faces, 1);
}

/* Archiving: `active` off sets archived_ms (kept on later edits), on clears
 * it; an archived person is out of the gallery. */
static void archiving_a_person_sets_and_clears_the_date(void **state)
{
    store *s = S(state);
    int64_t a = add_person(s, "ARC", "Arc Hive");
    float emb[8] = {1};
    store_face f = {.person_id = a, .dim = 8};
    snprintf(f.model, sizeof f.model, "m");
    OK(store_face_add(s, &f, emb, NULL, 0, &e_));
    store_person p;
    OK(store_person_get(s, a, &p, &e_));
    assert_int_equal(p.archived_ms, 0);
    int64_t before = rc_unix_ms();
    p.active = 0;
    OK(store_person_update(s, &p, &e_));
    OK(store_person_get(s, a, &p, &e_));
    assert_true(p.archived_ms >= before);
    int64_t when = p.archived_ms;
    snprintf(p.email, sizeof p.email, "a@b.org");
    OK(store_person_update(s, &p, &e_));
    OK(store_person_get(s, a, &p, &e_));
    assert_int_equal(p.archived_ms, when);
    store_gallery g;
    OK(store_gallery_load(s, NULL, &g, &e_));
    assert_int_equal(g.count, 0);
    store_gallery_free(&g);
    p.active = 1;
    OK(store_person_update(s, &p, &e_));
    OK(store_person_get(s, a, &p, &e_));
    assert_int_equal(p.archived_ms, 0);
    OK(store_gallery_load(s, NULL, &g, &e_));
    assert_int_equal(g.count, 1);
    store_gallery_free(&g);
}

/* A membership has a join date: now by default, kept when added again,
 * moved by store_group_join. */
static void memberships_have_a_join_date(void **state)
{
    store *s = S(state);
    rc_error err;
    int64_t a = add_person(s, "J1", "Jo"), b = add_person(s, "J2", "Jay");
    store_group g = {0};
    snprintf(g.name, sizeof g.name, "G");
    OK(store_group_create(s, &g, &e_));
    int64_t before = rc_unix_ms();
    OK(store_group_add_member(s, g.id, a, &e_));
    OK(store_group_join(s, g.id, b, 1767225600000LL, &e_));
    store_membership *m;
    size_t n;
    OK(store_memberships(s, g.id, 0, &m, &n, &e_));
    assert_int_equal(n, 2);
    assert_int_equal(m[0].person_id, a);
    assert_true(m[0].joined_ms >= before);
    assert_int_equal(m[1].joined_ms, 1767225600000LL);
    free(m);
    OK(store_group_add_member(s, g.id, b, &e_)); /* again: the date stays */
    OK(store_group_join(s, g.id, a, 1767312000000LL, &e_));
    OK(store_memberships(s, 0, b, &m, &n, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(m[0].joined_ms, 1767225600000LL);
    free(m);
    OK(store_memberships(s, 0, a, &m, &n, &e_));
    assert_int_equal(m[0].joined_ms, 1767312000000LL);
    free(m);
    assert_int_equal(store_memberships(s, g.id, a, &m, &n, &err), RC_ERR_INVALID);
    assert_int_equal(store_group_join(s, g.id, 4242, 0, &err), RC_ERR_NOT_FOUND);
    g.notify_absentees = 1;
    OK(store_group_update(s, &g, &e_));
    store_group g2;
    OK(store_group_get(s, g.id, &g2, &e_));
    assert_int_equal(g2.notify_absentees, 1);
}

/* Upgrading to v9: inactive persons are archived at their last change and
 * memberships joined when the person was created. */
static void upgrade_to_v9_dates_archives_and_joins(void **state)
{
    testdb *t = *state;
    char url[600];
    database_at_version(t, 6, url, sizeof url);
    raw_sql(url, "INSERT INTO persons (external_id, name, first_name, created_ms, updated_ms,"
                 " active) VALUES ('U1', 'Un', 'Un', 1000, 5000, 1), ('U2', 'Deux', 'Deux', 2000,"
                 " 7000, 0);"
                 "INSERT INTO person_groups (name, created_ms) VALUES ('G', 1);"
                 "INSERT INTO group_members (group_id, person_id) SELECT g.id, p.id"
                 " FROM person_groups g, persons p;");
    store *s;
    OK(store_open(url, 0, &s, &e_));
    store_person p1, p2;
    OK(store_person_get_by_external(s, "U1", &p1, &e_));
    OK(store_person_get_by_external(s, "U2", &p2, &e_));
    assert_int_equal(p1.archived_ms, 0);
    assert_int_equal(p2.archived_ms, 7000);
    store_membership *m;
    size_t n;
    OK(store_memberships(s, 0, p2.id, &m, &n, &e_));
    assert_int_equal(n, 1);
    assert_int_equal(m[0].joined_ms, 2000);
    free(m);
    store_close(s);
}

/* A group delivery is queued once per webhook and idempotency key, however
 * often (and by however many processes) it is decided. */
static void group_deliveries_are_queued_once_per_key(void **state)
{
    store *s = S(state);
    store_group g = {0}, h = {0};
    snprintf(g.name, sizeof g.name, "G");
    snprintf(h.name, sizeof h.name, "H");
    OK(store_group_create(s, &g, &e_));
    OK(store_group_create(s, &h, &e_));
    store_webhook all = {.enabled = 1}, only_g, only_h, other_kind;
    snprintf(all.url, sizeof all.url, "http://127.0.0.1:9/x");
    snprintf(all.events, sizeof all.events, "absentees");
    snprintf(all.secret, sizeof all.secret, "s3cret-s3cret");
    snprintf(all.preset, sizeof all.preset, "generic");
    only_g = all, only_h = all, other_kind = all;
    only_g.group_id = g.id;
    only_h.group_id = h.id;
    snprintf(other_kind.events, sizeof other_kind.events, "entry");
    OK(store_webhook_create(s, &all, &e_));
    OK(store_webhook_create(s, &only_g, &e_));
    OK(store_webhook_create(s, &only_h, &e_));
    OK(store_webhook_create(s, &other_kind, &e_));
    int64_t q = -1;
    OK(store_delivery_enqueue_group(s, "absentees", g.id, "absentees:g:1:2026-03-02", "{}", &q,
                                    &e_));
    assert_int_equal(q, 2); /* `all` and `only_g` */
    OK(store_delivery_enqueue_group(s, "absentees", g.id, "absentees:g:1:2026-03-02", "{}", &q,
                                    &e_));
    assert_int_equal(q, 0);
    OK(store_delivery_enqueue_group(s, "absentees", g.id, "absentees:g:1:2026-03-09", "{}", &q,
                                    &e_));
    assert_int_equal(q, 2);
    rc_error err;
    assert_int_equal(store_delivery_enqueue_group(s, "absentees", g.id, "", "{}", &q, &err),
                     RC_ERR_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(migrations_are_applied_once_and_listed, setup, teardown),
        cmocka_unit_test_setup_teardown(fresh_database_without_migrate_shows_pending, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(persons_crud_filters_and_paging, setup, teardown),
        cmocka_unit_test_setup_teardown(people_are_found_without_accents_or_case, setup, teardown),
        cmocka_unit_test_setup_teardown(a_code_is_found_in_any_case, setup, teardown),
        cmocka_unit_test_setup_teardown(groups_and_membership, setup, teardown),
        cmocka_unit_test_setup_teardown(faces_round_trip_into_the_gallery, setup, teardown),
        cmocka_unit_test_setup_teardown(deleting_a_person_removes_faces_and_is_audited, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(users_sessions_keys_and_lockout, setup, teardown),
        cmocka_unit_test_setup_teardown(schedules_holidays_settings_cameras, setup, teardown),
        cmocka_unit_test_setup_teardown(timetables_are_written_whole_without_overlaps, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(dated_timetables_split_at_the_effective_day, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(upgrade_to_v16_keeps_slots_open, setup, teardown),
        cmocka_unit_test_setup_teardown(events_filters_and_manual_corrections, setup, teardown),
        cmocka_unit_test_setup_teardown(sightings_and_audit_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(event_face_and_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_writers_from_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(backup_copies_a_consistent_database, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_locations_give_clear_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(acknowledged_events_survive_sigkill, setup, teardown),
        cmocka_unit_test_setup_teardown(gallery_changes_wake_waiters_across_handles, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_newer_schema_is_refused_and_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(backup_while_writers_write, setup, teardown),
        cmocka_unit_test_setup_teardown(person_names_are_kept_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(user_links_and_key_cameras_keep_integrity, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrade_from_v1_keeps_and_moves_data, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrade_to_v15_adds_the_auditor_role, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrade_to_v17_adds_part_day_leave, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrade_to_v11_reads_corrections_from_the_audit_log, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(events_remember_who_corrected_them, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrade_to_v13_adds_correction_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrade_to_v14_keeps_leaves_per_person, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrade_to_v10_gives_every_person_a_search_key, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(upgrade_to_v7_allows_self_and_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(deleted_faces_leave_no_trace_in_the_files, setup, teardown),
        cmocka_unit_test_setup_teardown(deleted_faces_leave_no_trace_inside_a_transaction, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(ids_are_never_reused_after_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrade_from_v2_keeps_data_and_never_reuses_ids, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(login_lockout_is_per_address_with_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(sessions_end_on_password_change, setup, teardown),
        cmocka_unit_test_setup_teardown(scoped_lists_page_over_the_whole_table, setup, teardown),
        cmocka_unit_test_setup_teardown(erasing_biometrics_keeps_the_person_and_history, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            withdrawing_consent_is_the_biometric_erase_and_clears_consent, setup, teardown),
        cmocka_unit_test_setup_teardown(archiving_a_person_sets_and_clears_the_date, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(memberships_have_a_join_date, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrade_to_v9_dates_archives_and_joins, setup, teardown),
        cmocka_unit_test_setup_teardown(group_deliveries_are_queued_once_per_key, setup, teardown),
        cmocka_unit_test_setup_teardown(upgrade_to_v18_lets_members_withdraw_requests, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(nested_transactions_join_the_outer_one, setup, teardown),
    };
    return cmocka_run_group_tests_name(testdb_is_pg() ? "store (postgres)" : "store (sqlite)",
                                       tests, NULL, NULL);
}
