/*
 * scope.c — the one place that decides what a caller may reach beyond the
 * route's role check. A manager account may be limited to some groups
 * (users.group_limited with the groups in user_groups): such a manager
 * reaches the people who are members of one of those groups, those groups
 * themselves, and everything that belongs to those people — faces and
 * photos, attendance events, reports, exports and the event stream. A
 * limited manager whose last group was deleted reaches nobody: an empty list
 * never widens the scope. Anything that concerns every group at once (an
 * import that creates people, holidays, new groups) is refused to them.
 *
 * A record outside their reach is answered as one that does not exist
 * (http_reply_unknown; a body's id as the handler answers an unknown id),
 * never 403: a different answer would tell them that it exists. A filter
 * (?group_id=, ?person_id=) outside their groups is 403 naming the id, as
 * an unknown id is for them; 403 otherwise means the role or the limit.
 *
 * Also the camera binding of device keys: a key bound to a camera marks
 * attendance for that camera only, and nothing marks attendance through a
 * disabled camera (deleting a camera revokes its keys: store_camera_delete).
 *
 * An auditor (read-only staff: HR, inspection) may be limited to groups in
 * the same way and is scoped by the same checks; the route table keeps every
 * write and every face image from them.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static store *db(const http_req *r)
{
    return r->srv->cfg.store;
}

bool http_scope_limited(const http_req *r)
{
    return (r->who.role == HTTP_MANAGER || r->who.role == HTTP_AUDITOR) && r->who.limited;
}

bool http_scope_persons(http_req *r, int64_t **ids, size_t *n)
{
    *ids = NULL;
    *n = 0;
    if (!http_scope_limited(r)) return false;
    size_t cap = 0;
    for (size_t g = 0; g < r->who.ngroups; g++) {
        int64_t *m = NULL;
        size_t k = 0;
        if (store_group_members(db(r), r->who.groups[g], &m, &k, NULL) != RC_OK) continue;
        if (*n + k > cap) {
            cap = (*n + k) * 2;
            int64_t *grown = realloc(*ids, cap * sizeof **ids);
            if (!grown) {
                free(m);
                continue;
            }
            *ids = grown;
        }
        if (k) memcpy(*ids + *n, m, k * sizeof *m);
        *n += k;
        free(m);
    }
    if (*n) qsort(*ids, *n, sizeof **ids, rc_cmp_i64);
    return true;
}

bool http_scope_group(const http_req *r, int64_t group_id)
{
    if (!http_scope_limited(r)) return true;
    for (size_t i = 0; i < r->who.ngroups; i++)
        if (r->who.groups[i] == group_id) return true;
    return false;
}

bool http_scope_person(http_req *r, int64_t person_id)
{
    if (!http_scope_limited(r)) return true;
    int64_t *gids = NULL;
    size_t ng = 0;
    bool ok = false;
    if (store_person_groups(db(r), person_id, &gids, &ng, NULL) == RC_OK)
        for (size_t i = 0; i < ng && !ok; i++) ok = http_scope_group(r, gids[i]);
    free(gids);
    return ok;
}

bool http_reply_unknown(http_req *r, const char *what, int64_t id)
{
    /* The store's own words for an id it does not have (store.c). */
    rc_error err;
    rc_fail(&err, RC_ERR_NOT_FOUND, "no %s with id %lld", what, (long long)id);
    http_reply_rc(r, RC_ERR_NOT_FOUND, &err);
    return false;
}

bool http_require_group(http_req *r, int64_t group_id)
{
    if (http_scope_group(r, group_id)) return true;
    http_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden", "group %lld is not one of your groups",
                     (long long)group_id);
    return false;
}

bool http_require_person(http_req *r, int64_t person_id)
{
    if (http_scope_person(r, person_id)) return true;
    http_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden", "person %lld is not in one of your groups",
                     (long long)person_id);
    return false;
}

bool http_require_whole_person(http_req *r, int64_t person_id)
{
    if (!http_scope_limited(r)) return true;
    if (!http_scope_person(r, person_id)) return http_reply_unknown(r, "person", person_id);
    int64_t *gids = NULL;
    size_t ng = 0;
    bool whole = store_person_groups(db(r), person_id, &gids, &ng, NULL) == RC_OK;
    for (size_t i = 0; i < ng && whole; i++) whole = http_scope_group(r, gids[i]);
    free(gids);
    if (whole) return true;
    http_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
                     "person %lld is also in groups you do not manage: erasing, archiving or "
                     "restoring them changes them for those groups too (ask an admin)",
                     (long long)person_id);
    return false;
}

bool http_require_face(http_req *r, int64_t face_id)
{
    if (!http_scope_limited(r)) return true;
    int64_t person = 0;
    rc_error err;
    rc_status st = store_face_person(db(r), face_id, &person, &err);
    if (st != RC_OK) {
        http_reply_rc(r, st, &err);
        return false;
    }
    return http_scope_person(r, person) || http_reply_unknown(r, "face", face_id);
}

bool http_require_all_groups(http_req *r, const char *what)
{
    if (!http_scope_limited(r)) return true;
    http_reply_error(r, MHD_HTTP_FORBIDDEN, "forbidden",
                     "%s concerns every group; your account is limited to some groups (ask an "
                     "admin)",
                     what);
    return false;
}

bool http_require_known_camera(http_req *r, int64_t camera_id, bool marking)
{
    if (!camera_id) return true;
    store_camera c;
    if (store_camera_get(db(r), camera_id, &c, NULL) != RC_OK) {
        http_reply_error(r, MHD_HTTP_BAD_REQUEST, "invalid_query", "there is no camera %lld",
                         (long long)camera_id);
        return false;
    }
    if (c.enabled || !marking) return true;
    http_reply_error_p(r, MHD_HTTP_FORBIDDEN, "camera_disabled",
                       json_pack("{s:I}", "camera_id", (json_int_t)camera_id),
                       "camera %lld is disabled; enable it to mark attendance through it",
                       (long long)camera_id);
    return false;
}

bool http_require_camera(http_req *r, int64_t camera_id)
{
    if (!r->who.camera_id || !camera_id || camera_id == r->who.camera_id) return true;
    http_reply_error(r, MHD_HTTP_FORBIDDEN, "camera_mismatch",
                     "this API key is bound to camera %lld; it cannot mark attendance as camera "
                     "%lld",
                     (long long)r->who.camera_id, (long long)camera_id);
    return false;
}
