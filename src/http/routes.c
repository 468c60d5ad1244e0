/*
 * routes.c — the route table: every endpoint the server answers, with the
 * roles allowed to call it and how its body is read. The role-matrix test
 * enumerates this table (`rollcall serve --list-routes`), so an endpoint that
 * is not here does not exist. Also the server's own endpoints: health,
 * metrics, the OpenAPI document and the event stream.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define ADMIN   HTTP_ADMIN
#define MANAGER HTTP_MANAGER
#define MEMBER  HTTP_MEMBER
#define DEVICE  HTTP_DEVICE
#define AUDITOR HTTP_AUDITOR /* read-only: GETs of people, groups, attendance, reports */

const http_route http_routes[] = {
    /* server */
    {"GET", "/healthz", HTTP_ANYONE, 0, http_h_healthz},
    {"GET", "/metrics", ADMIN | HTTP_METRICS, HTTP_LOOPBACK_OK, http_h_metrics},
    {"GET", "/api/v1/openapi.json", HTTP_ANYONE, 0, http_h_openapi},
    {"GET", "/api/v1/events", ADMIN | MANAGER | MEMBER | DEVICE | AUDITOR, 0, http_h_events},
    /* auth */
    {"POST", "/api/v1/auth/login", HTTP_ANYONE, HTTP_BODY_JSON | HTTP_NO_CSRF, http_h_login},
    {"POST", "/api/v1/auth/logout", HTTP_SIGNED_IN, HTTP_PW_CHANGE, http_h_logout},
    {"GET", "/api/v1/auth/me", HTTP_SIGNED_IN, HTTP_PW_CHANGE, http_h_me},
    {"POST", "/api/v1/auth/password", ADMIN | MANAGER | MEMBER | DEVICE | AUDITOR,
     HTTP_BODY_JSON | HTTP_PW_CHANGE, http_h_password},
    /* kiosk */
    {"POST", "/api/v1/kiosk/unlock", ADMIN | DEVICE, HTTP_BODY_JSON, http_h_kiosk_unlock},
    {"POST", "/api/v1/kiosk/checkin", ADMIN | DEVICE, HTTP_BODY_JSON, http_h_kiosk_checkin},
    /* self check-in and self-registration */
    {"GET", "/api/v1/self/checkin", MEMBER, 0, http_h_self_status},
    {"POST", "/api/v1/self/checkin", MEMBER, HTTP_BODY_UPLOAD | HTTP_WORK | HTTP_CAPTURE,
     http_h_self_checkin},
    {"GET", "/api/v1/self/data", MEMBER, 0, http_h_self_data},
    {"GET", "/api/v1/self/faces/{face_id}/image", MEMBER, 0, http_h_self_face_image},
    {"POST", "/api/v1/self/consent/withdraw", MEMBER, HTTP_BODY_JSON, http_h_self_withdraw},
    {"GET", "/api/v1/self/register", HTTP_ANYONE, 0, http_h_register_info},
    {"POST", "/api/v1/self/register", HTTP_ANYONE, HTTP_BODY_UPLOAD | HTTP_WORK | HTTP_CAPTURE,
     http_h_register},
    {"GET", "/api/v1/registrations", ADMIN | MANAGER, 0, http_h_registrations_list},
    {"POST", "/api/v1/registrations/{id}/approve", ADMIN | MANAGER, 0, http_h_registration_approve},
    {"DELETE", "/api/v1/registrations/{id}", ADMIN | MANAGER, 0, http_h_registration_reject},
    /* members' correction requests */
    {"GET", "/api/v1/self/correction-requests", MEMBER, 0, http_h_self_requests_list},
    {"POST", "/api/v1/self/correction-requests", MEMBER, HTTP_BODY_JSON,
     http_h_self_requests_create},
    {"GET", "/api/v1/correction-requests", ADMIN | MANAGER, 0, http_h_requests_list},
    {"POST", "/api/v1/correction-requests/{id}/approve", ADMIN | MANAGER, HTTP_BODY_JSON,
     http_h_request_approve},
    {"POST", "/api/v1/correction-requests/{id}/reject", ADMIN | MANAGER, HTTP_BODY_JSON,
     http_h_request_reject},
    {"POST", "/api/v1/self/correction-requests/{id}/withdraw", MEMBER, HTTP_BODY_JSON,
     http_h_self_request_withdraw},
    /* administration */
    {"GET", "/api/v1/users", ADMIN, 0, http_h_users_list},
    {"POST", "/api/v1/users", ADMIN, HTTP_BODY_JSON, http_h_users_create},
    {"GET", "/api/v1/users/{id}", ADMIN, 0, http_h_users_get},
    {"PATCH", "/api/v1/users/{id}", ADMIN, HTTP_BODY_JSON, http_h_users_patch},
    {"DELETE", "/api/v1/users/{id}", ADMIN, 0, http_h_users_delete},
    {"GET", "/api/v1/roles", ADMIN, 0, http_h_roles},
    {"GET", "/api/v1/api-keys", ADMIN, 0, http_h_keys_list},
    {"POST", "/api/v1/api-keys", ADMIN, HTTP_BODY_JSON, http_h_keys_create},
    {"DELETE", "/api/v1/api-keys/{id}", ADMIN, 0, http_h_keys_delete},
    {"GET", "/api/v1/audit", ADMIN, 0, http_h_audit},
    {"GET", "/api/v1/settings", ADMIN, 0, http_h_settings_get},
    {"PATCH", "/api/v1/settings", ADMIN, HTTP_BODY_JSON, http_h_settings_patch},
    {"GET", "/api/v1/webhooks", ADMIN, 0, http_h_webhooks_list},
    {"POST", "/api/v1/webhooks", ADMIN, HTTP_BODY_JSON, http_h_webhooks_create},
    {"GET", "/api/v1/webhooks/{id}", ADMIN, 0, http_h_webhooks_get},
    {"PATCH", "/api/v1/webhooks/{id}", ADMIN, HTTP_BODY_JSON, http_h_webhooks_patch},
    {"DELETE", "/api/v1/webhooks/{id}", ADMIN, 0, http_h_webhooks_delete},
    {"POST", "/api/v1/webhooks/{id}/test", ADMIN, 0, http_h_webhooks_test},
    {"GET", "/api/v1/webhooks/{id}/deliveries", ADMIN, 0, http_h_webhook_deliveries},
    {"POST", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry", ADMIN, 0,
     http_h_webhook_redeliver},
    /* people */
    {"GET", "/api/v1/persons", ADMIN | MANAGER | AUDITOR, 0, http_h_persons_list},
    {"POST", "/api/v1/persons", ADMIN | MANAGER, HTTP_BODY_JSON, http_h_persons_create},
    {"GET", "/api/v1/persons/{id}", ADMIN | MANAGER | AUDITOR, 0, http_h_persons_get},
    {"PATCH", "/api/v1/persons/{id}", ADMIN | MANAGER, HTTP_BODY_JSON, http_h_persons_patch},
    {"DELETE", "/api/v1/persons/{id}", ADMIN | MANAGER, 0, http_h_persons_delete},
    {"DELETE", "/api/v1/persons/{id}/biometrics", ADMIN | MANAGER, 0,
     http_h_person_biometrics_delete},
    {"POST", "/api/v1/persons/{id}/archive", ADMIN | MANAGER, 0, http_h_person_archive},
    {"POST", "/api/v1/persons/{id}/restore", ADMIN | MANAGER, 0, http_h_person_restore},
    {"PUT", "/api/v1/persons/{id}/pin", ADMIN | MANAGER, HTTP_BODY_JSON, http_h_person_pin},
    /* personal leave and justified absences */
    {"GET", "/api/v1/persons/{id}/leaves", ADMIN | MANAGER | AUDITOR, 0, http_h_person_leaves_list},
    {"POST", "/api/v1/persons/{id}/leaves", ADMIN | MANAGER, HTTP_BODY_JSON,
     http_h_person_leaves_create},
    {"DELETE", "/api/v1/persons/{id}/leaves/{leave_id}", ADMIN | MANAGER, 0,
     http_h_person_leaves_delete},
    {"PATCH", "/api/v1/persons/{id}/leaves/{leave_id}", ADMIN | MANAGER, HTTP_BODY_JSON,
     http_h_person_leaves_patch},
    {"GET", "/api/v1/leaves", ADMIN | MANAGER | AUDITOR, 0, http_h_leaves_list},
    {"GET", "/api/v1/self/leaves", MEMBER, 0, http_h_self_leaves},
    /* groups, schedules, holidays */
    {"GET", "/api/v1/groups", ADMIN | MANAGER | AUDITOR, 0, http_h_groups_list},
    {"POST", "/api/v1/groups", ADMIN | MANAGER, HTTP_BODY_JSON, http_h_groups_create},
    {"GET", "/api/v1/groups/{id}", ADMIN | MANAGER | AUDITOR, 0, http_h_groups_get},
    {"PATCH", "/api/v1/groups/{id}", ADMIN | MANAGER, HTTP_BODY_JSON, http_h_groups_patch},
    {"DELETE", "/api/v1/groups/{id}", ADMIN | MANAGER, 0, http_h_groups_delete},
    {"GET", "/api/v1/groups/{id}/members", ADMIN | MANAGER | AUDITOR, 0, http_h_members_list},
    {"PUT", "/api/v1/groups/{id}/members", ADMIN | MANAGER, HTTP_BODY_JSON, http_h_members_put},
    {"POST", "/api/v1/groups/{id}/members/{person_id}", ADMIN | MANAGER, 0, http_h_member_add},
    {"DELETE", "/api/v1/groups/{id}/members/{person_id}", ADMIN | MANAGER, 0, http_h_member_remove},
    {"GET", "/api/v1/schedules", ADMIN | MANAGER | AUDITOR, 0, http_h_schedules_list},
    {"POST", "/api/v1/schedules", ADMIN | MANAGER, HTTP_BODY_JSON, http_h_schedules_create},
    {"PUT", "/api/v1/schedules", ADMIN | MANAGER, HTTP_BODY_JSON, http_h_schedules_replace},
    {"PATCH", "/api/v1/schedules/{id}", ADMIN | MANAGER, HTTP_BODY_JSON, http_h_schedules_patch},
    {"DELETE", "/api/v1/schedules/{id}", ADMIN | MANAGER, 0, http_h_schedules_delete},
    {"GET", "/api/v1/holidays", ADMIN | MANAGER | AUDITOR, 0, http_h_holidays_list},
    {"POST", "/api/v1/holidays", ADMIN | MANAGER, HTTP_BODY_JSON, http_h_holidays_create},
    {"DELETE", "/api/v1/holidays/{id}", ADMIN | MANAGER, 0, http_h_holidays_delete},
    /* cameras */
    {"GET", "/api/v1/cameras", ADMIN | MANAGER | AUDITOR, 0, http_h_cameras_list},
    {"POST", "/api/v1/cameras", ADMIN, HTTP_BODY_JSON, http_h_cameras_create},
    {"GET", "/api/v1/cameras/{id}", ADMIN, 0, http_h_cameras_get},
    {"PATCH", "/api/v1/cameras/{id}", ADMIN, HTTP_BODY_JSON, http_h_cameras_patch},
    {"DELETE", "/api/v1/cameras/{id}", ADMIN, 0, http_h_cameras_delete},
    {"GET", "/api/v1/cameras/{id}/snapshot", ADMIN, 0, http_h_camera_snapshot},
    /* attendance */
    {"GET", "/api/v1/attendance", ADMIN | MANAGER | MEMBER | AUDITOR, 0, http_h_attendance_list},
    {"POST", "/api/v1/attendance", ADMIN | MANAGER, HTTP_BODY_JSON, http_h_attendance_create},
    {"PATCH", "/api/v1/attendance/{id}", ADMIN | MANAGER, HTTP_BODY_JSON, http_h_attendance_patch},
    {"DELETE", "/api/v1/attendance/{id}", ADMIN | MANAGER, HTTP_BODY_JSON,
     http_h_attendance_delete},
    {"POST", "/api/v1/attendance/{id}/void", ADMIN | MANAGER, HTTP_BODY_JSON,
     http_h_attendance_void},
    {"POST", "/api/v1/attendance/{id}/not-this-person", ADMIN | MANAGER, HTTP_BODY_JSON,
     http_h_attendance_not_this_person},
    {"GET", "/api/v1/attendance/export", ADMIN | MANAGER | AUDITOR, 0, http_h_export},
    {"GET", "/api/v1/reports/summary", ADMIN | MANAGER | MEMBER | AUDITOR, 0,
     http_h_report_summary},
    {"GET", "/api/v1/reports/daily", ADMIN | MANAGER | AUDITOR, 0, http_h_report_daily},
    {"GET", "/api/v1/dashboard", ADMIN | MANAGER | AUDITOR, 0, http_h_dashboard},
    {"GET", "/api/v1/attendance/absentees", ADMIN | MANAGER | AUDITOR, 0, http_h_absentees},
    {"GET", "/api/v1/reports/groups", ADMIN | MANAGER | AUDITOR, 0, http_h_report_groups},
    /* faces and recognition */
    {"GET", "/api/v1/persons/{id}/photo", ADMIN | MANAGER, 0, http_h_person_photo},
    {"GET", "/api/v1/persons/{id}/faces", ADMIN | MANAGER, 0, http_h_faces_list},
    {"POST", "/api/v1/persons/{id}/faces", ADMIN | MANAGER, HTTP_BODY_UPLOAD | HTTP_WORK,
     http_h_faces_upload},
    {"DELETE", "/api/v1/persons/{id}/faces/{face_id}", ADMIN | MANAGER, 0, http_h_faces_delete},
    {"GET", "/api/v1/faces/{face_id}/image", ADMIN | MANAGER, 0, http_h_face_image},
    {"POST", "/api/v1/import", ADMIN | MANAGER, HTTP_BODY_UPLOAD | HTTP_BIG_UPLOAD, http_h_import},
    /* unknown faces kept for review (keep_unrecognized) */
    {"GET", "/api/v1/sightings", ADMIN | MANAGER, 0, http_h_sightings_list},
    {"POST", "/api/v1/sightings/dismiss", ADMIN | MANAGER, HTTP_BODY_JSON,
     http_h_sightings_dismiss},
    {"GET", "/api/v1/sightings/{id}/image", ADMIN | MANAGER, 0, http_h_sighting_image},
    {"DELETE", "/api/v1/sightings/{id}", ADMIN | MANAGER, 0, http_h_sighting_delete},
    {"POST", "/api/v1/sightings/{id}/assign", ADMIN | MANAGER, HTTP_BODY_JSON | HTTP_WORK,
     http_h_sighting_assign},
    {"POST", "/api/v1/recognize", ADMIN | DEVICE, HTTP_BODY_UPLOAD | HTTP_WORK, http_h_recognize},
    {"POST", "/api/v1/detect", ADMIN | MANAGER | DEVICE, HTTP_BODY_UPLOAD | HTTP_WORK,
     http_h_detect},
    {"POST", "/api/v1/verify", ADMIN | MANAGER | DEVICE, HTTP_BODY_UPLOAD | HTTP_WORK,
     http_h_verify},
    /* the earlier Python services' endpoints; enrolling is not a device's job */
    {"POST", "/process-images", ADMIN | MANAGER, HTTP_BODY_UPLOAD | HTTP_WORK,
     http_h_process_images},
    {"POST", "/process_frame", ADMIN | DEVICE, HTTP_BODY_UPLOAD | HTTP_WORK, http_h_process_frame},
};
const size_t http_route_count = sizeof http_routes / sizeof http_routes[0];

static json_t *string_list(const char *const *names)
{
    json_t *arr = json_array();
    for (size_t i = 0; names && names[i]; i++) json_array_append_new(arr, json_string(names[i]));
    return arr;
}

enum MHD_Result http_h_healthz(http_req *r)
{
    http_server *srv = r->srv;
    double up = (rc_mono_ms() - srv->started_ms) / 1000.0;
    /* anyone may call it: the models by name, never a path on the server's disk */
    json_t *body = json_pack(
        "{s:s,s:s,s:f,s:{s:o,s:o},s:s}", "status", "ok", "version", RC_VERSION, "uptime_s", up,
        "models", "available", string_list(srv->cfg.models_available), "loaded",
        string_list(srv->cfg.recog ? recog_models_loaded(srv->cfg.recog) : srv->cfg.models_loaded),
        "db", srv->cfg.store ? store_backend_name(srv->cfg.store) : "none");
    return http_reply_json(r, MHD_HTTP_OK, body);
}

enum MHD_Result http_h_metrics(http_req *r)
{
    http_server *srv = r->srv;
    rc_metrics_set(srv->metrics, "rollcall_uptime_seconds", "seconds since the server started",
                   (rc_mono_ms() - srv->started_ms) / 1000.0);
    rc_metrics_set(srv->metrics, "rollcall_event_streams", "open GET /api/v1/events streams",
                   (double)http_hub_clients(srv->hub));
    pthread_mutex_lock(&srv->lock);
    double inflight = srv->in_flight;
    pthread_mutex_unlock(&srv->lock);
    rc_metrics_set(srv->metrics, "rollcall_http_in_flight", "requests being served", inflight);
    rc_metrics_set(srv->metrics, "rollcall_http_header_deadline_closed",
                   "connections closed for not sending their headers in time",
                   (double)http_conns_cut(srv->conns));
    if (srv->att) {
        att_stats as;
        att_get_stats(srv->att, &as);
        rc_metrics_set(srv->metrics, "rollcall_attendance_records_total",
                       "sightings the attendance rules decided", (double)as.records);
        rc_metrics_set(srv->metrics, "rollcall_attendance_commits_total",
                       "store transactions committed for them (group commit: fewer)",
                       (double)as.commits);
    }
    size_t len = 0;
    char *text = rc_metrics_render(srv->metrics, &len);
    if (!text) return http_reply_error(r, 500, "internal", "out of memory");
    char *cams = srv->cfg.cameras ? cam_feed_metrics(srv->cfg.cameras) : NULL;
    if (cams) {
        size_t cl = strlen(cams);
        char *both = realloc(text, len + cl + 1);
        if (both) {
            memcpy(both + len, cams, cl + 1);
            text = both;
            len += cl;
        }
        free(cams);
    }
    return http_reply_owned(r, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

enum MHD_Result http_h_openapi(http_req *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        http_openapi_json_len, (void *)http_openapi_json, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
    MHD_add_response_header(resp, "Cache-Control", "no-cache");
    return http_reply_response(r, MHD_HTTP_OK, resp);
}

enum MHD_Result http_h_events(http_req *r)
{
    return http_hub_subscribe(r->srv->hub, r);
}
