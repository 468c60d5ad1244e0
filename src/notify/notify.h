/*
 * notify — outgoing webhooks. Administrators configure endpoints in the store
 * (store_webhook: URL, the event kinds wanted, an optional group, a secret,
 * a payload preset); what happened is queued in the store's outbox
 * (webhook_deliveries) and this module delivers it.
 *
 * Attendance events queue their deliveries themselves, inside the store
 * transaction that records the event (store_event_insert), so a notification
 * of an acknowledged event survives a crash. Unknown faces and cameras going
 * down are queued with notify_unknown_face / notify_camera_down, a test with
 * notify_test.
 *
 * The dispatcher (notify_start) runs a few threads that claim due deliveries
 * with a lease, POST them with libcurl (http and https only, redirects never
 * followed, bounded timeouts), and mark each delivered, or pending again
 * after an exponential backoff with jitter, or dead after the last attempt.
 * A restarted process picks up what is still pending; processes sharing one
 * PostgreSQL never claim the same row at once. Delivery is at least once: a
 * process that dies after the receiver answered but before the row was
 * marked delivers it again once the lease runs out, so receivers should use
 * the X-Rollcall-Delivery header to drop repeats.
 *
 * Every request carries
 *   X-Rollcall-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
 * plus X-Rollcall-Event (the kind), X-Rollcall-Delivery (the delivery id)
 * and X-Rollcall-Attempt. Secrets and full URLs are never logged.
 */
#ifndef RC_NOTIFY_H
#define RC_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../rc/rc.h"
#include "../store/store.h"

typedef struct notify notify;

/* Zero fields take the defaults in brackets (notify_config_default). */
typedef struct {
    unsigned workers;            /* delivery threads [2] */
    int64_t timeout_ms;          /* a whole request, connect included [10 000] */
    int64_t connect_timeout_ms;  /* connecting [5 000] */
    int max_attempts;            /* attempts before a delivery is dead [10] */
    int64_t backoff_base_ms;     /* delay after the first failure [5 000] */
    int64_t backoff_max_ms;      /* longest delay [3 600 000] */
    int64_t poll_ms;             /* look for due rows at least this often [1 000] */
    int64_t lease_ms;            /* how long a claim keeps a row [timeout_ms * 3] */
    int64_t unknown_face_gap_ms; /* at most one unknown_face per camera per gap [60 000] */
    int64_t camera_down_ms;      /* a camera not streaming this long is down [30 000] */
    int64_t keep_ms;             /* delivered and dead rows are deleted after [30 days] */
} notify_config;

/* Fill the zero fields of *c with the defaults. */
void notify_config_default(notify_config *c);

/* Start the dispatcher over store s (which must outlive it). cfg may be NULL. */
rc_status notify_start(store *s, const notify_config *cfg, notify **out, rc_error *err);
/* Stop: requests in progress finish (each within timeout_ms), undelivered
 * rows stay queued in the store for the next start. NULL is ignored. */
void notify_stop(notify *n);
/* Look for due deliveries now instead of at the next poll. */
void notify_wake(notify *n);

/* Queue a delivery of `kind` about `data` (a JSON object, not stolen) for
 * every enabled webhook that wants the kind; person_id non-zero limits it to
 * webhooks without a group or whose group has the person. *queued may be
 * NULL. Works without a running dispatcher (another process may deliver). */
rc_status notify_emit(store *s, const char *kind, int64_t person_id, const json_t *data,
                      int64_t *queued, rc_error *err);
/* Queue a "test" delivery for webhook `id` (whatever its kinds); *delivery_id
 * (may be NULL) receives the queued row's id. RC_ERR_NOT_FOUND without such
 * a webhook, RC_ERR_CONFLICT when it is disabled. */
rc_status notify_test(store *s, int64_t id, int64_t *delivery_id, rc_error *err);

/* A face nobody enrolled matches was seen by camera_id (0: a kiosk or API
 * call; camera_name NULL: looked up). At most one per camera per unknown_face_gap_ms is queued;
 * *queued (may be NULL) says whether this one was. n NULL does nothing. */
rc_status notify_unknown_face(notify *n, int64_t camera_id, const char *camera_name,
                              double confidence, double liveness, int *queued, rc_error *err);
/* Camera camera_id stopped delivering frames; `reason` says why in words
 * (camera_name NULL: looked up). */
rc_status notify_camera_down(notify *n, int64_t camera_id, const char *camera_name,
                             const char *reason, rc_error *err);
/* Report how camera camera_id is doing, every few seconds for every camera:
 * up (frames arriving), off (disabled on purpose: nothing is said), and the
 * last error. A camera that is neither up nor off for camera_down_ms queues
 * one camera_down (with the error as the reason); it is said again only
 * after the camera has been up in between. *queued (may be NULL) says
 * whether this call queued one. n NULL does nothing. */
rc_status notify_camera_state(notify *n, int64_t camera_id, const char *camera_name, int up,
                              int off, const char *error, int64_t now_ms, int *queued,
                              rc_error *err);

/* ---- absentee lists (absentees.c) ------------------------------------------ */

struct att;
/* Queue the absentee list of every group slot that is due at now_ms, once
 * per group, slot and day (the idempotency key "absentees:<group>:<schedule>:
 * <day>" in the outbox holds across restarts and processes). Due: the
 * group's notify_absentees (or the absentee_notify setting, for every group)
 * is on, the slot is today's (in the institution's zone, never on a holiday),
 * its start + grace has passed and its end has not. The list is who the
 * report counts absent in that slot (join dates, archive days and the
 * institution's start apply); the payload ("absentees" webhooks of the group
 * or without a group) names the group, the slot, the absent people and the
 * group's managers (managers whose scope includes the group; the admins when
 * there is none). *queued (may be NULL) receives how many deliveries were
 * queued. Cheap when nothing is due: no report is built for a slot whose
 * deliveries are already queued. */
rc_status notify_absentees(store *s, struct att *a, int64_t now_ms, int64_t *queued, rc_error *err);

/* ---- payloads and signatures (payload.c) --------------------------------- */

/* The request body for delivery d to webhook w, in w's preset: "generic"
 * {id, kind, created_ms, time, data}; "slack" {text}; "telegram" {chat_id,
 * text}. Returns malloc'd NUL-terminated text (caller frees) or NULL. */
char *notify_render(const store_webhook *w, const store_delivery *d, size_t *len);
/* The X-Rollcall-Signature value for body signed at unix second t, into out. */
#define NOTIFY_SIGNATURE_MAX 96
void notify_sign(const char *secret, int64_t t, const char *body, size_t len,
                 char out[NOTIFY_SIGNATURE_MAX]);
/* The wait before attempt `attempt`+1 after `attempt` failed (1-based):
 * min(base * 2^(attempt-1), max), scaled by 0.5 + u/2 for jitter (u in [0,1)). */
int64_t notify_backoff_ms(const notify_config *c, int attempt, double u);
/* The URL safe to show and log: scheme://host[:port] plus, for the generic
 * preset, the path (no user, password or query); for slack and telegram,
 * whose URLs hold tokens, "/…" instead of the path. */
void notify_url_display(const store_webhook *w, char *out, size_t cap);

#endif
