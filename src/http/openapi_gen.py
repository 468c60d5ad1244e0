"""openapi_gen.py — writes src/http/openapi.json, the OpenAPI 3 description of the
v1 API (the contract in the project brief), with x-roles on every operation
matching the route table in routes.c (tests/http/test_http.c checks that).
Usage: python3 src/http/openapi_gen.py > src/http/openapi.json"""
import json
S = lambda **k: dict(k)
def ref(n): return {"$ref": "#/components/schemas/" + n}
def arr(x): return {"type": "array", "items": x}
def obj(props, req=None, nullable=()):
    o = {"type": "object", "properties": {}}
    for k, v in props.items():
        if isinstance(v, str):
            v = {"type": v}
        if k in nullable:
            v = dict(v); v["nullable"] = True
        o["properties"][k] = v
    if req: o["required"] = req
    return o
STR, INT, NUM, BOOL = "string", "integer", "number", "boolean"
TIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}
LEAVE_KINDS = ["sick", "vacation", "personal", "justified", "other"]
CLOCK = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"}
WEBHOOK_KINDS = ["entry", "exit", "late", "early_leave", "unknown_face", "camera_down", "absentees"]
schemas = {
 "Error": obj({"error": obj({"code": {"type": STR, "description": "stable snake_case code a client translates"},
     "message": {"type": STR, "description": "the same in English, for logs and scripts"},
     "params": {"type": "object", "additionalProperties": True, "description":
         "values the translation may name: field, min, max, choices, retry_after_s, minutes, scope"}},
     ["code", "message", "params"])}, ["error"]),
 "Health": obj({"status": STR, "version": STR, "uptime_s": NUM,
     "models": obj({"available": arr({"type": STR}), "loaded": arr({"type": STR})}),
     "db": STR}, ["status", "version", "uptime_s", "models"]),
 "Role": {"type": "string", "enum": ["admin", "manager", "member", "device", "metrics", "auditor"]},
 "User": obj({"id": INT, "email": STR, "name": STR, "role": ref("Role"), "person_id": INT,
     "created_at": TIME, "last_login_at": TIME, "active": BOOL,
     "group_ids": dict(arr({"type": INT}), description="managers and auditors limited to groups (all_groups false): the groups whose people they reach"),
     "all_groups": dict({"type": BOOL}, description="managers and auditors: true reaches every group; false only group_ids (none when it is empty)"),
     "must_change_password": {"type": BOOL, "description": "signed in with a one-time password: "
         "every call but /auth/me, /auth/logout and /auth/password answers 403 password_change_required"}},
     ["id", "email", "name", "role", "person_id", "created_at", "last_login_at"],
     nullable=("person_id", "last_login_at")),
 "Session": obj({"user": ref("User"), "csrf_token": STR,
     "timezone": {"type": STR, "description": "the institution's IANA time zone (the one set in "
         "/settings, else the server's): every role shows dates and times in it"},
     "institution": obj({"name": STR, "logo_url": STR}, ["name", "logo_url"], nullable=("logo_url",)),
     "camera": dict(obj({"id": INT, "name": STR, "direction": {"type": STR, "enum": ["entry", "exit", "both"]}},
         ["id", "name", "direction"]), description="a device key's camera")},
     ["user", "csrf_token", "timezone"]),
 "PasswordChange": obj({"current_password": STR, "new_password": STR}, ["current_password", "new_password"]),
 "KioskUnlock": obj({"pin": STR, "password": STR, "email": {"type": STR, "description":
     "with a device key: the admin whose password is given"},
     "end_key": {"type": BOOL, "description": "with a device key: revoke that key once unlocked "
         "(a kiosk that leaves for good; the web app's 'keep signed in' kiosks send it)"}}),
 "KioskCheckin": obj({"code": {"type": STR, "description": "the person's code (external id)"},
     "pin": STR, "kind": {"type": STR, "enum": ["entry", "exit"]}, "camera_id": INT}, ["code", "pin"]),
 "KioskCheckinResult": obj({"person": obj({"id": INT, "name": STR}),
                            "event": {"allOf": [ref("AttendanceEvent"), obj({"new": BOOL, "minutes_late": {"type": INT, "description": "a late entry: minutes after its slot's start; else 0"}})]}},
                           ["person", "event"]),
 "PersonPin": obj({"pin": {"type": STR, "description": "4 to 12 digits; \"\" or null removes it"}}, nullable=("pin",)),
 "Reason": obj({"reason": STR}, ["reason"]),
 "LoginRequest": obj({"email": STR, "password": STR}, ["email", "password"]),
 "UserCreate": obj({"email": STR, "name": STR, "role": ref("Role"), "password": STR, "person_id": INT, "active": BOOL, "group_ids": arr({"type": INT}), "all_groups": BOOL,
     "must_change_password": {"type": BOOL, "description": "default true: the password is one-time"}},
     ["email", "name", "role", "password"], nullable=("person_id",)),
 "UserPatch": obj({"email": STR, "name": STR, "role": ref("Role"), "password": STR, "person_id": INT, "active": BOOL, "group_ids": arr({"type": INT}), "all_groups": BOOL,
     "must_change_password": BOOL},
     nullable=("person_id",)),
 "RoleInfo": obj({"name": STR, "description": STR}, ["name", "description"]),
 "ApiKey": obj({"id": INT, "name": STR, "role": ref("Role"), "prefix": STR, "camera_id": INT,
     "created_at": TIME, "last_used_at": TIME}, ["id", "name", "role", "prefix", "created_at"],
     nullable=("camera_id", "last_used_at")),
 "ApiKeyCreate": obj({"name": STR, "role": {"type": STR, "enum": ["device", "admin", "manager", "metrics", "auditor"]},
     "camera_id": INT}, ["name", "role"], nullable=("camera_id",)),
 "ApiKeyCreated": obj({"id": INT, "name": STR, "role": ref("Role"), "prefix": STR,
     "key": {"type": STR, "description": "the secret; shown only in this answer"},
     "camera_id": INT, "created_at": TIME}, ["id", "name", "role", "prefix", "key", "created_at"],
     nullable=("camera_id",)),
 "Webhook": obj({"id": INT, "name": STR,
     "url": {"type": STR, "description": "shown without user, password or query; for slack and "
         "telegram (whose URLs are tokens) only scheme and host"},
     "events": arr({"type": STR, "enum": WEBHOOK_KINDS}), "group_id": INT,
     "preset": {"type": STR, "enum": ["generic", "slack", "telegram"]}, "chat_id": STR,
     "enabled": BOOL, "created_at": TIME, "updated_at": TIME},
     ["id", "name", "url", "events", "group_id", "preset", "chat_id", "enabled", "created_at"],
     nullable=("group_id",)),
 "WebhookCreated": obj({"id": INT, "name": STR, "url": STR, "events": arr({"type": STR}),
     "group_id": INT, "preset": STR, "chat_id": STR, "enabled": BOOL, "created_at": TIME,
     "secret": {"type": STR, "description": "the HMAC-SHA256 key of X-Rollcall-Signature; shown only in this answer"}},
     ["id", "url", "events", "preset", "enabled", "secret"], nullable=("group_id",)),
 "WebhookWrite": obj({"name": STR,
     "url": {"type": STR, "description": "http:// or https:// only; redirects are never followed"},
     "events": dict(arr({"type": STR, "enum": WEBHOOK_KINDS}), description="late / early_leave: "
         "entries / exits with that status"),
     "group_id": dict({"type": INT}, description="only about members of this group; deleting the group deletes the webhook"),
     "preset": {"type": STR, "enum": ["generic", "slack", "telegram"]},
     "chat_id": {"type": STR, "description": "telegram: the chat (required there)"},
     "secret": {"type": STR, "minLength": 16, "description": "made for you when left out"},
     "enabled": BOOL}, nullable=("group_id",)),
 "WebhookTest": obj({"delivery_id": INT}, ["delivery_id"]),
 "Delivery": obj({"id": INT, "webhook_id": INT,
     "kind": {"type": STR, "enum": ["entry", "exit", "unknown_face", "camera_down", "test"]},
     "event_id": INT, "status": {"type": STR, "enum": ["pending", "delivered", "dead"]},
     "attempts": INT, "last_http": INT, "last_error": STR, "next_attempt_at": TIME,
     "created_at": TIME, "updated_at": TIME, "payload": {"type": "object"}},
     ["id", "webhook_id", "kind", "status", "attempts", "last_error", "created_at", "payload"],
     nullable=("event_id", "last_http", "next_attempt_at")),
 "AuditEntry": obj({"id": INT, "time": TIME, "actor": STR, "action": STR, "target": STR, "detail": STR},
     ["id", "time", "actor", "action", "target", "detail"], nullable=("target", "detail")),
 "Settings": dict(obj({"timezone": STR, "dedup_window_s": INT, "min_stay_s": INT, "slot_margin_min": INT,
     "recognition_threshold": {"type": NUM, "minimum": 0, "maximum": 1, "description":
         "cosine similarity at or above which a face is an enrolled person and may be marked; "
         "the one threshold of /recognize, /process_frame, /verify and cameras, applied at once "
         "when changed; default 0.47 (GALLERY_DEFAULT_THRESHOLD), calibrated per probe against a gallery (see README)"},
     "liveness_threshold": NUM, "keep_unrecognized": BOOL,
     "unrecognized_retention_days": {"type": INT, "minimum": 0, "maximum": 3650, "description":
         "kept faces (unrecognized sightings, probes kept with events) are erased this many days "
         "after they were seen, checked at start and every hour; the events stay; 0 keeps them (default 30)"},
     "institution_name": STR, "institution_logo_url": STR,
     "kiosk_pin": {"type": STR, "description": "write only: 4-12 digits to leave kiosk mode (stored hashed); \"\" removes it"},
     "kiosk_pin_set": {"type": BOOL, "readOnly": True},
     "self_checkin_enabled": {"type": BOOL, "description": "members linked to a person may check in from their phone (default true)"},
     "self_checkin_window_min": {"type": INT, "minimum": 0, "maximum": 720, "description":
         "self check-in is allowed inside the person's slots and this many minutes before and after (default 15)"},
     "self_checkin_networks": {"type": STR, "description": "networks self check-in is allowed from "
         "(IPv4/IPv6 CIDRs or addresses, comma separated); \"\": from anywhere"},
     "self_registration_enabled": {"type": BOOL, "description": "the public self-registration page is open (default false)"},

     "attendance_start_day": dict(type=STR, format="date", nullable=True,
         description="no absences before this day; null: the day Rollcall was first used (first attendance event or the database's creation)"),
     "attendance_start_day_in_effect": dict(type=STR, format="date", nullable=True, readOnly=True,
         description="the institution's start in force: attendance_start_day or its default"),
     "absentee_notify": dict(type=BOOL, description="send every group's managers the absentee list of each slot (absentees webhooks); a group's notify_absentees does it for that group"),
     "presence_mode": dict(type=STR, enum=["day", "slot"], description="how a slot is judged: "
         "\"day\" (default; cameras or a kiosk at the door): in from an entry until the next exit, so a "
         "slot is attended when the person has an entry in it or is already in at its start; "
         "\"slot\" (a camera in each classroom): a slot is attended only with an entry in it")}),
     additionalProperties=True),
 "GroupRef": obj({"id": INT, "name": STR, "joined_on": dict(type=STR, format="date", nullable=True,
     description="the local day the person joined the group: no absence from its slots before it")}, ["id", "name"]),
 "Person": obj({"id": INT, "external_id": STR, "first_name": STR, "last_name": STR,
     "name": {"type": STR, "description": "display name: first_name and last_name joined by a space"},
     "email": STR, "kind": {"type": STR, "enum": ["student", "teacher", "employee", "other"]},
     "active": BOOL, "consent_at": TIME, "consent_withdrawn_at": dict(TIME, nullable=True, description="when the person withdrew their consent (Mis datos), while no consent was recorded since: no face of theirs is enrolled (photos refused with consent_withdrawn) until one is; null otherwise"),
     "face_count": INT, "groups": arr(ref("GroupRef")),
     "created_at": TIME, "pin_set": {"type": BOOL, "description": "has a kiosk PIN (code + PIN check-in)"},
     "archived_at": dict(TIME, nullable=True, description="when the person was archived (active false): out of recognition, no absences from that day on, history kept; null while active"),
     "joined_on": dict(type=STR, format="date", description="in a group's member list: the day they joined that group")},
     ["id", "external_id", "first_name", "last_name", "name", "email", "kind", "active",
      "consent_at", "face_count", "groups", "created_at"], nullable=("email", "consent_at")),
 "PersonCreate": obj({"external_id": STR, "first_name": STR, "last_name": STR, "email": STR,
     "kind": {"type": STR, "enum": ["student", "teacher", "employee", "other"]}, "active": BOOL,
     "consent_at": TIME, "group_ids": dict(arr({"type": INT}), description="groups the new person joins (required for managers limited to groups)")},
     ["external_id", "first_name", "last_name", "kind"],
     nullable=("email", "consent_at")),
 "PersonPatch": obj({"external_id": STR, "first_name": STR, "last_name": STR, "email": STR,
     "kind": {"type": STR, "enum": ["student", "teacher", "employee", "other"]}, "active": BOOL,
     "consent_at": TIME}, nullable=("email", "consent_at")),
 "Quality": obj({"score": NUM, "size": NUM, "sharpness": NUM, "yaw": NUM, "pitch": NUM, "roll": NUM,
     "ok": BOOL, "reasons": arr({"type": STR})}, ["score", "ok", "reasons"]),
 "Face": obj({"id": INT, "quality": ref("Quality"), "model_id": STR, "created_at": TIME},
     ["id", "quality", "model_id", "created_at"]),
 "Refusal": {"type": STR, "nullable": True, "description": "why a photo was refused, a stable code the UI translates: not_an_image, no_face, several_faces, low_quality, face_too_small, duplicate_identity (params.person names who the face belongs to, only when the caller may reach that person: a manager limited to groups is told no name outside them), different_people, store_failed, consent_withdrawn (the person withdrew their consent and no new one is recorded: every photo is refused)",
     "enum": ["not_an_image", "no_face", "several_faces", "low_quality", "face_too_small", "duplicate_identity", "different_people", "store_failed", "consent_withdrawn", "no_person", "invalid_person", None]},
 "RefusalParams": {"type": "object", "description": "duplicate_identity: {person: {id, external_id, name}, similarity} (empty when the person is outside a limited manager's groups)", "additionalProperties": True},
 "FaceUploadResult": obj({"file": STR, "accepted": BOOL, "face_id": INT, "reason": STR,
     "code": ref("Refusal"), "params": ref("RefusalParams"),
     "quality": ref("Quality")}, ["file", "accepted", "face_id", "reason", "quality"],
     nullable=("face_id", "reason", "quality")),
 "ImportCode": {"type": STR, "nullable": True, "description": "why a file, roster row or person was not imported: a photo refusal (see Refusal), or stray_file (a file at the top level is nobody's photo), unsupported_format (not .jpg .jpeg .png .webp .heic .heif), nested_folder (in a sub-folder of a person's folder), hidden_file, roster_invalid (params.line), invalid_person (the folder cannot name a person), no_photo_accepted (the person was not created or changed)",
     "enum": ["not_an_image", "no_face", "several_faces", "low_quality", "face_too_small", "duplicate_identity", "different_people", "store_failed", "consent_withdrawn",
              "stray_file", "unsupported_format", "nested_folder", "hidden_file", "roster_invalid", "invalid_person", "no_photo_accepted", None]},
 "ImportLine": obj({"type": {"type": STR, "enum": ["plan", "photo", "skipped", "roster", "person"],
         "description": "plan (first): how many photos, persons, roster rows and skipped files the import holds; photo: a photo judged by the enrollment policy; skipped: a file not imported; roster: a roster row not imported (params: line, problem, value); person: a person's outcome"},
     "file": STR, "person": STR, "accepted": BOOL, "reason": STR, "code": ref("ImportCode"), "params": ref("RefusalParams"), "face_id": INT,
     "line": {"type": INT, "description": "roster: the row's line; person: the roster row that named them"},
     "person_id": INT, "name": STR, "created": BOOL, "updated": BOOL, "photos": {"type": INT, "description": "person: photos judged; plan, done: photos in the import"}, "accepted_photos": INT,
     "done": BOOL, "files": INT, "persons": INT, "skipped": {"type": INT, "description": "plan, done: files and roster rows skipped"}, "roster_rows": INT, "persons_created": INT, "persons_updated": INT},
     nullable=("reason", "face_id", "person", "person_id", "name", "line")),
 "Group": obj({"id": INT, "name": STR, "description": STR, "member_count": INT,
     "notify_absentees": dict(type=BOOL, description="the group's managers get the absentee list of each slot")},
     ["id", "name", "description", "member_count"]),
 "GroupWrite": obj({"name": STR, "description": STR, "notify_absentees": BOOL}),
 "MemberIds": obj({"person_ids": arr({"type": INT}),
     "joined_on": dict(type=STR, format="date", nullable=True, description="the day new members joined (default today); members already in keep theirs")}, ["person_ids"]),
 "Erased": obj({"erased": obj({"faces": INT, "sightings": INT, "photo": INT, "events": INT, "memberships": INT,
     "schedules": INT, "deliveries": INT, "pin": INT,
     "consent": {"type": INT, "description": "1 when a recorded consent was cleared (a member's withdrawal only)"}})}, ["erased"]),
 "CameraError": obj({"code": {"type": STR, "description": "stable code to translate: connect_failed, host_not_found, timeout, auth_failed, not_found, http_error, bad_content, not_http, stream_ended, stream_broken, decode_failed, frame_too_large, unsupported, permission_denied, device_error, bad_config, failed"},
     "params": {"type": "object", "additionalProperties": True, "description": "host, status, type or device as the code needs; never credentials"}}, ["code", "params"]),
 "Schedule": obj({"id": INT, "group_id": INT, "person_id": INT,
     "day_of_week": {"type": INT, "minimum": 1, "maximum": 7}, "start": CLOCK, "end": CLOCK,
     "grace_min": INT, "label": STR,
     "valid_from": dict(DATE, description="first local day the slot is in force (null: since always)"),
     "valid_to": dict(DATE, description="last local day the slot is in force (null: no end)"),
     "upcoming": dict(type=BOOL, description="the slot begins after the day asked for (GET ?on=, default today): a change to come")},
     ["id", "group_id", "person_id", "day_of_week", "start", "end", "grace_min", "label", "valid_from", "valid_to"],
     nullable=("group_id", "person_id", "valid_from", "valid_to")),
 "ScheduleWrite": obj({"group_id": INT, "person_id": INT,
     "day_of_week": {"type": INT, "minimum": 1, "maximum": 7}, "start": CLOCK, "end": CLOCK,
     "grace_min": INT, "label": STR, "effective": dict(DATE, nullable=True, description="the local day the change takes effect (default today); the days before it keep the slots they had. A day before today: admins only (403); at most 366 days from today (400)")}, nullable=("group_id", "person_id")),
 "TimetableSlot": obj({"id": dict({"type": INT}, description="an existing slot of this timetable, kept and changed; without: a new slot"),
     "day_of_week": {"type": INT, "minimum": 1, "maximum": 7}, "start": CLOCK, "end": CLOCK,
     "grace_min": INT, "label": STR}, ["day_of_week", "start", "end"]),
 "TimetableWrite": obj({"group_id": INT, "person_id": INT, "effective": dict(DATE, nullable=True, description="the local day the change takes effect (default today); the days before it keep the slots they had. A day before today: admins only (403); at most 366 days from today (400)"),
     "slots": dict({"type": "array", "items": ref("TimetableSlot"), "maxItems": 500}, description="the whole timetable from the effective day on: slots not listed end the day before (or go, when they would only begin later); no two may share a minute of the week")}, ["slots"], nullable=("group_id", "person_id")),
 "Leave": obj({"id": INT, "person_id": INT, "kind": {"type": STR, "enum": LEAVE_KINDS}, "from": DATE, "to": DATE,
     "days": INT, "note": STR, "created_by": STR, "created_at": TIME, "name": dict(type=STR, description="GET /leaves only"),
     "external_id": dict(type=STR, description="GET /leaves only"),
     "from_min": dict(type=INT, description="part of one day: its first local minute (0-1439); null, the whole day(s)"),
     "to_min": dict(type=INT, description="part of one day: the local minute it ends (1-1440, after from_min); null, the whole day(s)")},
     ["id", "person_id", "kind", "from", "to", "days", "note", "created_by", "created_at", "from_min", "to_min"],
     nullable=("from_min", "to_min")),
 "LeaveWrite": obj({"kind": {"type": STR, "enum": LEAVE_KINDS}, "from": DATE,
     "to": dict(DATE, description="the last day (inclusive), at most 366 days after from; default from"),
     "note": dict(type=STR, maxLength=500),
     "from_min": dict(type=INT, minimum=0, maximum=1439, description="part of one day (from = to): local minutes [from_min, to_min); both or neither"),
     "to_min": dict(type=INT, minimum=1, maximum=1440, description="after from_min")}, ["kind", "from"]),
 "LeavePatch": obj({"kind": {"type": STR, "enum": LEAVE_KINDS}, "from": DATE,
     "to": dict(DATE, description="the last day (inclusive); left out: the one it had (a one-day leave moved by from stays one day)"),
     "note": dict(type=STR, maxLength=500),
     "from_min": dict(type=INT, minimum=0, maximum=1439, description="both or neither; both null: the whole day again"),
     "to_min": dict(type=INT, minimum=1, maximum=1440)}, nullable=("from_min", "to_min")),
 "Holiday": obj({"id": INT, "date": DATE, "name": STR}, ["id", "date", "name"]),
 "HolidayWrite": obj({"date": DATE, "to": dict(DATE, description="the last day of a range of holidays (Christmas, summer), at most 366 days after date; each day is a holiday"), "name": STR}, ["date", "name"]),
 "HolidayCreated": obj({"id": INT, "date": DATE, "name": STR, "to": DATE, "days": INT}, ["id", "date", "name", "to", "days"]),
 "CameraStatus": obj({"state": dict({"type": STR}, description="connecting, streaming, backoff, disabled, error, ended; external (browser cameras post to /recognize); not_running (no models)"),
     "fps_in": NUM, "fps_processed": NUM, "frames": INT, "processed": INT, "drops": INT, "skipped": INT,
     "partial": INT, "connects": INT, "failures": INT, "next_retry_ms": INT, "width": INT, "height": INT,
     "last_status": STR, "last_error": dict(type=STR, description="the last failure in English words (CLI, logs)"), "last_frame_at": TIME,
     "error": {"allOf": [ref("CameraError")], "nullable": True}}, nullable=("last_error", "last_frame_at")),
 "Camera": obj({"id": INT, "name": STR, "url": STR,
     "kind": {"type": STR, "enum": ["mjpeg", "snapshot", "rtsp", "file", "v4l2", "browser"]},
     "direction": {"type": STR, "enum": ["entry", "exit", "both"]}, "enabled": BOOL, "fps": NUM,
     "status": ref("CameraStatus")},
     ["id", "name", "url", "kind", "direction", "enabled", "fps", "status"]),
 "CameraWrite": obj({"name": STR, "url": STR,
     "kind": {"type": STR, "enum": ["mjpeg", "snapshot", "rtsp", "file", "v4l2", "browser"]},
     "direction": {"type": STR, "enum": ["entry", "exit", "both"]}, "enabled": BOOL, "fps": NUM}),
 "Box": obj({"x": NUM, "y": NUM, "w": NUM, "h": NUM}, ["x", "y", "w", "h"]),
 "Identity": obj({"person_id": INT, "external_id": STR, "name": STR,
     "photo": {"type": STR, "description": "only in /recognize answers to device keys, which may "
         "not read /persons/{id}/photo: the recognized person's photo (the stored face crop) as a "
         "data:image/jpeg;base64 URL; absent when the person has none"}},
     ["person_id", "external_id", "name"]),
 "EventBrief": obj({"id": INT, "type": {"type": STR, "enum": ["entry", "exit"]},
     "status": {"type": STR, "enum": ["on_time", "late", "early_leave", "outside_schedule"]},
     "time": TIME, "minutes_late": INT, "new": BOOL},
     ["id", "type", "status", "time", "minutes_late", "new"]),
 "RecognizedFace": obj({"box": ref("Box"), "score": NUM, "landmarks": arr(arr({"type": NUM})),
     "identity": dict(ref("Identity")), "confidence": NUM,
     "liveness": {"type": NUM, "description": "0..1 that the face is live; -1 when it was not "
         "measured (an unknown face in a frame that does not mark, or a person measured live at "
         "this camera within the de-duplication window)"}, "live": BOOL,
     "quality_ok": BOOL, "reasons": arr({"type": STR}), "event": ref("EventBrief")},
     ["box", "score", "landmarks", "identity", "confidence", "liveness", "live", "quality_ok",
      "reasons", "event"]),
 "RecognizeResult": obj({"width": INT, "height": INT, "ms": NUM, "faces": arr(ref("RecognizedFace"))},
     ["width", "height", "ms", "faces"]),
 "DetectedFace": obj({"box": ref("Box"), "score": NUM, "landmarks": arr(arr({"type": NUM})),
     "quality": ref("Quality"), "liveness": NUM}, ["box", "score", "landmarks", "quality", "liveness"]),
 "DetectResult": obj({"width": INT, "height": INT, "faces": arr(ref("DetectedFace"))},
     ["width", "height", "faces"]),
 "VerifyResult": obj({"similarity": NUM, "same": BOOL, "threshold": NUM}, ["similarity", "same", "threshold"]),
 "AttendanceEvent": obj({"id": INT, "person_id": INT, "person_name": STR, "external_id": STR,
     "time": TIME, "type": {"type": STR, "enum": ["entry", "exit"]}, "status": STR,
     "camera_id": INT, "camera_name": STR, "confidence": NUM, "box": ref("Box"), "liveness": NUM,
     "count": INT, "manual": BOOL, "reason": STR, "day": DATE,
     "source": {"type": STR, "enum": ["auto", "manual", "pin", "self"], "description":
         "pin: code + PIN on a kiosk; self: a member's own check-in from their phone"},
     "voided_at": dict(TIME, description="when it was voided (reason says why); null: it counts"),
     "face_id": dict({"type": INT}, description="recognized events: the enrolled face that matched best "
         "(what not-this-person may delete); null for other events or when that face was deleted"),
     "has_probe": dict({"type": BOOL}, description="the face as the camera saw it was kept (keep unrecognized "
         "faces on), so not-this-person can turn it into an unknown face to assign"),
     "corrected": dict(obj({"at": TIME, "actor": dict({"type": STR}, description="as the audit log names it: user:3, key:7"),
         "by": dict({"type": STR}, description="the account's name (else its e-mail); the actor for an API key")},
         ["at", "actor", "by"]), description="the last correction, voiding or not-this-person by someone: "
         "when and by whom; null: never corrected")},
     ["id", "person_id", "person_name", "external_id", "time", "type", "status", "camera_id",
      "camera_name", "confidence", "box", "liveness", "count", "manual", "reason", "corrected"],
     nullable=("camera_id", "camera_name", "confidence", "box", "liveness", "reason", "voided_at", "face_id",
               "corrected")),
 "Sighting": obj({"id": INT, "time": TIME, "day": dict(DATE, description="the local day (institution's zone)"),
     "camera_id": INT, "camera_name": STR, "confidence": dict({"type": NUM}, description="similarity to the closest enrolled person"),
     "liveness": NUM, "reason": {"type": STR, "description": "why it made no event: unknown, below_threshold, liveness; corrected (from not-this-person)"},
     "candidate": dict(obj({"id": INT, "name": STR, "external_id": STR}, ["id", "name", "external_id"]),
         description="the closest enrolled person (below the threshold); null when none or outside a limited manager's groups"),
     "image_url": STR}, ["id", "time", "day", "camera_id", "camera_name", "confidence", "liveness", "reason", "candidate", "image_url"],
     nullable=("camera_id", "camera_name", "candidate", "image_url")),
 "SightingAssign": obj({"person_id": INT,
     "record_event": dict({"type": BOOL}, description="also record the attendance at the sighting's time as a manual event (needs reason)"),
     "type": {"type": STR, "enum": ["entry", "exit"], "description": "the recorded event's type (default entry)"},
     "reason": STR}, ["person_id"]),
 "SightingAssigned": obj({"face_id": INT, "result": ref("FaceUploadResult"), "event": ref("AttendanceEvent")},
     ["face_id", "result", "event"], nullable=("event",)),
 "SightingDismiss": obj({"ids": dict(arr({"type": INT}), minItems=1, maxItems=500)}, ["ids"]),
 "SightingsDismissed": obj({"dismissed": INT, "missing": dict(arr({"type": INT}), description="ids already gone")}, ["dismissed", "missing"]),
 "NotThisPerson": obj({"reason": STR,
     "erase": dict({"type": BOOL}, description="delete the event (default: void it, kept and shown, counted by nothing)"),
     "delete_face": dict({"type": BOOL}, description="also delete the enrolled face that matched (face_id; 409 face_unknown without one)"),
     "keep_probe": dict({"type": BOOL}, description="turn the face as seen into an unknown face to assign (409 no_probe when none was kept)")},
     ["reason"]),
 "NotThisPersonResult": obj({"event": ref("AttendanceEvent"), "face_deleted": INT, "sighting_id": INT},
     ["event", "face_deleted", "sighting_id"], nullable=("event", "face_deleted", "sighting_id")),
 "ManualEvent": obj({"person_id": INT, "type": {"type": STR, "enum": ["entry", "exit"]}, "time": TIME,
     "reason": STR}, ["person_id", "type", "time", "reason"]),
 "EventCorrection": obj({"type": {"type": STR, "enum": ["entry", "exit"]}, "time": TIME, "status": STR,
     "reason": STR}, ["reason"]),
 "SummaryRow": obj({"person_id": INT, "name": STR, "external_id": STR, "slots": INT, "present": INT, "late": INT, "early_leave": INT,
     "absent": INT, "first_entry": TIME, "last_exit": TIME, "time_on_site_s": INT,
     "leave": dict(type=INT, description="slots on a day of the person's leave they did not come to: neither absent nor in the rate"),
     "leave_by_kind": obj({k: INT for k in LEAVE_KINDS}, LEAVE_KINDS),
     "time_in_slots_s": dict(type=INT, description="the part of time_on_site_s inside the person's slots"),
     "time_outside_slots_s": dict(type=INT, description="by day, the part of time_on_site_s outside every slot "
         "(before, between and after them: overtime candidates); time_in_slots_s + time_outside_slots_s = time_on_site_s"),
     "missing_exits": dict(type=INT, description="by day, stays with no exit once their last slot ended more than "
         "slot_margin_min ago (\"falta la salida\"); each marks its last slot's row (missing_exit in the exports)"),
     "rate": dict(type=NUM, description="present / (present + absent) slots; null when none was judged"),
     "minutes_late": dict(type=INT, description="late arrivals' minutes after their slot's start (grace not subtracted; "
         "an arrival within grace is on time and counts 0), whole minutes"),
     "minutes_early_leave": dict(type=INT, description="early leaves' minutes from the exit to their slot's end"),
     "overtime_minutes": dict(type=INT, description="by day, the part of time_outside_slots_s after the day's last slot and, "
         "for a stay begun more than slot_margin_min early, before its first (never a break); a day without slots is all overtime")},
     ["person_id", "name", "external_id", "slots", "present", "late", "early_leave", "absent", "time_on_site_s",
      "time_in_slots_s", "time_outside_slots_s", "missing_exits", "leave", "leave_by_kind",
      "minutes_late", "minutes_early_leave", "overtime_minutes"],
     nullable=("first_entry", "last_exit", "rate")),
 "DailyRow": dict(obj({"date": DATE, "expected": INT, "present": INT, "late": INT, "early_leave": INT, "absent": INT,
     "pending": INT, "leave": INT, "rate": NUM}, ["date", "expected", "present", "late", "early_leave", "absent", "pending", "leave", "rate"],
     nullable=("rate",)), description="one day's figures in people: expected (a slot that day), present (an entry in one of its slots), "
     "late/early_leave (of those present), absent (not present, a slot's start + grace passed), pending (neither yet), leave (not present, on leave that day); "
     "rate = present / (present + absent), null when nobody was judged yet. Days without slots are left out."),
 "Absentee": obj({"person_id": INT, "name": STR, "external_id": STR, "date": DATE, "group_id": INT, "group_name": STR,
     "label": STR, "start": TIME, "end": TIME}, ["person_id", "name", "external_id", "date", "group_id", "group_name", "label", "start", "end"],
     nullable=("group_id", "group_name")),
 "GroupRow": obj({"group_id": INT, "name": STR, "members": INT, "slots": INT, "present": INT, "late": INT,
     "early_leave": INT, "absent": INT, "leave": INT, "rate": NUM}, ["group_id", "name", "members", "slots", "present", "late", "early_leave", "absent", "leave", "rate"],
     nullable=("rate",)),
 "Dashboard": obj({"today": ref("DailyRow"),
     "late_by_group": arr(obj({"group_id": INT, "name": STR, "late": INT})),
     "recent": arr(ref("AttendanceEvent"))}, ["today", "late_by_group", "recent"]),
 "CompatEnrollResult": obj({"status": STR, "id": STR, "processed": INT, "accepted": INT,
     "person_id": {"type": INT, "nullable": True, "description": "null when no photo was accepted and the person did not exist (nobody is created)"},
     "rejected": arr(obj({"file": STR, "reason": STR, "code": {"type": STR, "nullable": True}}))}, ["status", "id", "processed", "accepted", "rejected"]),
 "CompatFrameResult": obj({"recognized_faces": arr(obj({"identity": STR, "confidence": NUM,
     "box": dict(arr({"type": NUM}), minItems=4, maxItems=4)}))}, ["recognized_faces"]),
 "SelfStatus": obj({"enabled": BOOL, "linked": {"type": BOOL, "description": "the account is linked to a person"},
     "person": obj({"id": INT, "name": STR}), "face_count": INT, "window_min": INT,
     "network_allowed": BOOL, "ip": STR,
     "slot": obj({"schedule_id": INT, "day": DATE, "label": STR, "start": TIME, "end": TIME}),
     "already_marked": BOOL, "entry": ref("AttendanceEvent"), "min_frames": INT, "max_frames": INT},
     ["enabled", "linked", "face_count", "window_min", "network_allowed", "already_marked", "min_frames", "max_frames"],
     nullable=("person", "slot", "entry")),
 "SelfCheckinResult": obj({"accepted": BOOL, "person": obj({"id": INT, "name": STR}), "event": ref("AttendanceEvent"),
     "frames": INT, "passed": INT}, ["accepted", "person", "event", "frames", "passed"]),
 "SelfData": obj({"person": ref("Person"),
     "consent_at": dict(TIME, description="when consent to face recognition was recorded; null when none is"),
     "consent_withdrawn_at": dict(TIME, nullable=True, description="when the person withdrew their consent (Mis datos), while no consent was recorded since: no face of theirs is enrolled (photos refused with consent_withdrawn) until one is; null otherwise"),
     "faces": arr(obj({"id": INT, "created_at": TIME, "photo": {"type": BOOL, "description": "the profile photo"},
         "image": {"type": STR, "description": "where to fetch it: /api/v1/self/faces/{id}/image"}}, ["id", "created_at", "photo", "image"])),
     "biometrics": obj({"faces": INT, "photo": BOOL,
         "sightings": {"type": INT, "description": "kept face crops that name the person: unrecognized sightings whose best match they are and the probes kept with their recognized events (what an erase deletes)"},
         "probes": {"type": INT, "description": "of those, probes of attendance events"}}, ["faces", "photo", "sightings", "probes"]),
     "attendance": obj({"events": {"type": INT, "description": "attendance records kept, voided ones included"}, "voided": INT}, ["events", "voided"])},
     ["person", "consent_at", "faces", "biometrics", "attendance"], nullable=("consent_at",)),
 "ConsentWithdraw": obj({"password": {"type": STR, "description": "the account's password, again"}}, ["password"]),
 "ConsentWithdrawn": obj({"erased": obj({"faces": INT, "sightings": INT, "photo": INT,
         "events": INT, "memberships": INT, "schedules": INT, "deliveries": INT, "pin": INT, "consent": INT}),
     "consent_at": dict(TIME, nullable=True, description="always null now"),
     "consent_was": dict(TIME, nullable=True, description="the consent that was withdrawn; null when none was recorded")},
     ["erased", "consent_at", "consent_was"]),
 "RegisterInfo": obj({"enabled": BOOL, "photos": INT, "groups": arr(ref("GroupRef")),
     "institution": obj({"name": STR, "logo_url": STR}, ["name", "logo_url"], nullable=("logo_url",))},
     ["enabled", "photos", "groups", "institution"]),
 "Registered": obj({"id": INT, "status": {"type": STR, "enum": ["pending"]}, "group": STR}, ["id", "status", "group"]),
 "Registration": dict(obj({"id": INT, "name": STR, "first_name": STR, "last_name": STR, "email": STR,
     "groups": arr(ref("GroupRef")), "face_ids": arr({"type": INT}), "pending": BOOL, "created_at": TIME,
     "consent_at": TIME}, ["id", "name", "email", "groups", "face_ids", "pending"], nullable=("email", "consent_at")),
     additionalProperties=True),
}
REQUEST_KINDS = ["missing_exit", "missing_entry", "wrong_time", "void"]
schemas["CorrectionRequest"] = obj({"id": INT, "person_id": INT, "person_name": STR,
     "kind": {"type": STR, "enum": REQUEST_KINDS, "description": "missing_exit / missing_entry: add the exit or entry at time; wrong_time: the event's time should be time; void: the event should not count"},
     "event_id": {"type": INT, "description": "the event it is about (none for a missing one)"},
     "event_time": dict(TIME, description="the event's time when the request was made"),
     "time": dict(TIME, description="the time asked for (null for void)"),
     "reason": {"type": STR, "maxLength": 500}, "status": {"type": STR, "enum": ["pending", "approved", "rejected", "withdrawn"],
     "description": "withdrawn: by the member while it waited"},
     "created_at": TIME, "decided_at": TIME, "decided_by": {"type": STR, "description": "the name of who decided (or withdrew it)"},
     "note": {"type": STR, "description": "the decision's note"},
     "result_event_id": {"type": INT, "description": "the event an approval added or changed"},
     "event": dict(ref("AttendanceEvent"), description="the event it is about as it is now; null when none or gone")},
    ["id", "person_id", "person_name", "kind", "event_id", "event_time", "time", "reason", "status", "created_at",
     "decided_at", "decided_by", "note", "result_event_id", "event"],
    nullable=("event_id", "event_time", "time", "decided_at", "decided_by", "note", "result_event_id", "event"))
schemas["CorrectionRequestCreate"] = obj({"kind": {"type": STR, "enum": REQUEST_KINDS},
     "event_id": {"type": INT, "description": "one of the member's own events, not voided: required for wrong_time and void, optional context for missing_*"},
     "time": dict(TIME, description="required for missing_* and wrong_time, not for void; not in the future"),
     "reason": {"type": STR, "minLength": 1, "maxLength": 500},
     "person_id": {"type": INT, "description": "optional; when given it must be the member's own person (403 otherwise)"}}, ["kind", "reason"])
schemas["CorrectionDecision"] = obj({"note": {"type": STR, "maxLength": 500, "description": "optional to approve, required to reject"}})
def listof(n):
    return obj({"items": arr(ref(n)), "total": INT}, ["items", "total"])
for n in ["Leave", "CorrectionRequest", "Registration", "Webhook", "Delivery", "User", "ApiKey", "AuditEntry", "Person", "Group", "Schedule", "Holiday", "Camera", "AttendanceEvent", "Sighting"]:
    schemas[n + "List"] = listof(n)
schemas["ReportTotals"] = dict(obj({"minutes_late": INT, "minutes_early_leave": INT, "overtime_minutes": INT},
    ["minutes_late", "minutes_early_leave", "overtime_minutes"]), description="the people's minutes_late, minutes_early_leave and overtime_minutes added up")
schemas["SummaryReport"] = obj({"items": arr(ref("SummaryRow")), "totals": ref("ReportTotals")}, ["items", "totals"])
schemas["DailyReport"] = obj({"items": arr(ref("DailyRow"))}, ["items"])
schemas["AbsenteeList"] = obj({"date": DATE, "items": arr(ref("Absentee")), "total": INT}, ["date", "items", "total"])
schemas["GroupReport"] = obj({"from": DATE, "to": DATE, "timezone": STR, "label": STR, "people": arr(ref("SummaryRow")),
    "groups": arr(ref("GroupRow")), "days": arr(ref("DailyRow")), "totals": ref("ReportTotals")},
    ["from", "to", "timezone", "label", "people", "groups", "days", "totals"],
    nullable=("label",))

def jbody(n): return {"required": True, "content": {"application/json": {"schema": ref(n)}}}
def ok(n, code="200", desc="OK"): return {code: {"description": desc, "content": {"application/json": {"schema": ref(n)}}}}
IMG = {"required": True, "content": {
    "image/jpeg": {"schema": {"type": STR, "format": "binary"}},
    "image/png": {"schema": {"type": STR, "format": "binary"}},
    "multipart/form-data": {"schema": obj({"file": {"type": STR, "format": "binary"}})}}}
def q(name, t=STR, desc=None, required=False, **kw):
    p = {"name": name, "in": "query", "required": required, "schema": dict({"type": t}, **kw)}
    if desc: p["description"] = desc
    return p
PAGE = [q("limit", INT, "default 50, max 500", minimum=1, maximum=500), q("offset", INT, minimum=0)]
def pid(name="id"): return {"name": name, "in": "path", "required": True, "schema": {"type": INT}}
NOC = {"204": {"description": "done"}}
paths = {}
def op(path, method, summary, roles, resp, body=None, params=None, tag=None, work=False):
    o = {"summary": summary, "operationId": None, "x-roles": roles, "responses": dict(resp)}
    if body: o["requestBody"] = body
    if params: o["parameters"] = params
    if tag: o["tags"] = [tag]
    if roles == ["public"]: o["security"] = []
    if work: o["responses"]["503"] = {"description": "every recognition worker is busy (Retry-After says when to try again), or the models are not loaded"}
    o["responses"]["default"] = {"description": "error", "content": {"application/json": {"schema": ref("Error")}}}
    paths.setdefault(path, {})[method] = o
    return o
def opid(o, name): o["operationId"] = name
A, M, MB, D = "admin", "manager", "member", "device"
AU = "auditor"  # read-only staff (HR, inspection): migration 15
P = ["public"]
opid(op("/healthz", "get", "health and version", P, ok("Health"), tag="server"), "getHealth")
opid(op("/metrics", "get", "Prometheus metrics (admin or a metrics API key; anyone on loopback with --metrics-public-loopback)", [A, "metrics"],
   {"200": {"description": "Prometheus text", "content": {"text/plain": {"schema": {"type": STR}}}}}, tag="server"), "getMetrics")
opid(op("/api/v1/openapi.json", "get", "this document", P,
   {"200": {"description": "OpenAPI 3", "content": {"application/json": {"schema": {"type": "object"}}}}}, tag="server"), "getOpenapi")
opid(op("/api/v1/auth/login", "post", "log in; sets the rc_session cookie", P, ok("Session"), jbody("LoginRequest"), tag="auth"), "login")
opid(op("/api/v1/auth/logout", "post", "log out", [A, M, MB, D, AU], NOC, tag="auth"), "logout")
opid(op("/api/v1/auth/me", "get", "the current user", [A, M, MB, D, AU], ok("Session"), tag="auth"), "me")
opid(op("/api/v1/auth/password", "post", "change one's own password; ends the account's other sessions and answers with a new one. "
   "A wrong current_password (403 wrong_current_password) counts as a failed login to the account from this address: "
   "too_many_attempts (429, params.scope account or address) as for a login",
   [A, M, MB, D, AU], ok("Session"), jbody("PasswordChange"), tag="auth"), "changePassword")
opid(op("/api/v1/kiosk/unlock", "post", "leave kiosk mode: the kiosk PIN or an admin password (throttled, audited)",
   [A, D], NOC, jbody("KioskUnlock"), tag="kiosk"), "kioskUnlock")
opid(op("/api/v1/kiosk/checkin", "post", "check in with a person's code and PIN (source pin). Refusals: checkin_refused "
   "(403, the same for an unknown code and a wrong PIN), too_many_attempts (429, also for the wrong PIN that uses up a limit; params.scope code: 5 wrong PINs for "
   "the code within 15 minutes, from any kiosk, lock it for 15; scope address: 10 wrong PINs from this address within "
   "5 minutes close it for 5, a success forgiving only the failures on its own code); every attempt is audited "
   "(kiosk.checkin, kiosk.checkin_failed, kiosk.checkin_locked)",
   [A, D], ok("KioskCheckinResult"), jbody("KioskCheckin"), tag="kiosk"), "kioskCheckin")
SELF_CODES = ("refusals answer {error:{code,params}} with code not_linked (409), disabled, network_not_allowed "
    "(params.ip), outside_schedule (params.window_min) (403), already_marked (409, params.event_id, at), "
    "no_face, not_live, no_match, no_enrolled_faces (422, params frames, faces, live, passed, needed), "
    "too_many_attempts (429: 5 failed verifications in 15 minutes), too_few_frames / too_many_frames (400); "
    "every attempt is audited (self.checkin, self.checkin_refused, self.checkin_failed)")
opid(op("/api/v1/self/checkin", "get", "where the member stands for self check-in now: linked, enabled, network, the slot, already marked",
   [MB], ok("SelfStatus"), tag="self"), "selfStatus")
opid(op("/api/v1/self/checkin", "post", "check in from one's own phone: 2-5 frames (multipart file parts, 8 MB in all) verified 1:1 "
   "against the caller's own enrolled faces with liveness; recorded with source self. " + SELF_CODES,
   [MB], ok("SelfCheckinResult"),
   {"required": True, "content": {"multipart/form-data": {"schema": obj({"frame": arr({"type": STR, "format": "binary"}),
       "kind": {"type": STR, "enum": ["entry", "exit"]}}, ["frame"])}}}, tag="self", work=True), "selfCheckin")
opid(op("/api/v1/self/data", "get", "what the institution holds about the member's own person (GDPR art. 15): record, groups, "
   "when consent was recorded, enrolled faces with their dates, kept face crops that name them, attendance records. "
   "not_linked (409) when the account is not linked to a person", [MB], ok("SelfData"), tag="self"), "selfData")
opid(op("/api/v1/self/faces/{face_id}/image", "get", "one of the member's own enrolled faces (aligned crop); another person's "
   "face answers exactly as an id that names no face (404 not_found)", [MB],
   {"200": {"description": "JPEG", "content": {"image/jpeg": {"schema": {"type": STR, "format": "binary"}}}}}, params=[pid("face_id")], tag="self"), "selfFaceImage")
opid(op("/api/v1/self/consent/withdraw", "post", "withdraw one's consent to face recognition (GDPR art. 7(3)): with the account's "
   "password again, erases the person's biometric data exactly as DELETE /persons/{id}/biometrics does (faces, embeddings, photo, "
   "face crops naming them; out of the gallery at once) and clears the recorded consent; attendance history stays. "
   "Audited self.consent_withdrawn (with the counts; the store also records person.erase_biometrics). "
   "A wrong password (403 wrong_password, audited self.consent_withdraw_failed) counts as a failed login to the account from "
   "this address: too_many_attempts (429) as for a login. not_linked (409) without a linked person",
   [MB], ok("ConsentWithdrawn"), jbody("ConsentWithdraw"), tag="self"), "selfWithdrawConsent")
opid(op("/api/v1/self/register", "get", "the public self-registration page: open or not, the groups to choose", P, ok("RegisterInfo"), tag="self"), "registerInfo")
opid(op("/api/v1/self/register", "post", "register oneself (when the setting is on): names, e-mail, group, consent and three photos "
   "through the enrollment policy; the person waits for approval (201 pending). Refusals: registration_disabled, already_pending (409: a registration with this e-mail waits for approval), face_pending (409: a registration with this face waits for approval; params.results with codes only), "
   "missing_field, invalid_field, consent_required, photos_required (400), photos_refused (422, params.results with codes only), "
   "too_many_attempts (429: 10 an hour per address)", P, ok("Registered", "201", "pending"),
   {"required": True, "content": {"multipart/form-data": {"schema": obj({"first_name": STR, "last_name": STR, "email": STR,
       "group_id": INT, "consent": {"type": STR, "enum": ["true"]}, "photo": arr({"type": STR, "format": "binary"})},
       ["first_name", "last_name", "email", "group_id", "consent", "photo"])}}}, tag="self", work=True), "register")
opid(op("/api/v1/registrations", "get", "pending self-registrations (limited managers: their groups')", [A, M], ok("RegistrationList"), tag="self"), "listRegistrations")
opid(op("/api/v1/registrations/{id}/approve", "post", "approve a registration: the person becomes active and recognized", [A, M], ok("Registration"), params=[pid()], tag="self"), "approveRegistration")
opid(op("/api/v1/registrations/{id}", "delete", "reject a registration: the person and their photos are erased", [A, M], NOC, params=[pid()], tag="self"), "rejectRegistration")
REQ_CODES = ("Refusals: not_linked (409) without a linked person; missing_field, invalid_field (event_id not one of the member's own events: "
    "the same answer for someone else's and for none; reason over 500 characters), time_in_future (400); event_voided (409); "
    "too_many_pending (409: 20 requests waiting per person); too_many_attempts (429: 50 requests a day per person)")
opid(op("/api/v1/self/correction-requests", "get", "the member's own correction requests, newest first", [MB], ok("CorrectionRequestList"), params=PAGE, tag="self"), "selfListCorrectionRequests")
opid(op("/api/v1/self/correction-requests", "post", "ask for a correction of one's own attendance: a forgotten exit or entry, "
   "a wrong time, an event that should not count (audited request.create). " + REQ_CODES,
   [MB], ok("CorrectionRequest", "201", "pending"), jbody("CorrectionRequestCreate"), tag="self"), "selfCreateCorrectionRequest")
opid(op("/api/v1/self/correction-requests/{id}/withdraw", "post", "withdraw one's own pending request: status withdrawn, decided by the member "
   "(audited request.withdraw). already_decided (409, params.status) once decided; another member's request answers as an unknown id (404)",
   [MB], ok("CorrectionRequest"), params=[pid()], tag="self"), "selfWithdrawCorrectionRequest")
opid(op("/api/v1/correction-requests", "get", "members' correction requests, newest first (limited managers: their groups' people's)", [A, M],
   ok("CorrectionRequestList"), params=[q("status", STR, enum=["pending", "approved", "rejected", "withdrawn"])] + PAGE, tag="attendance"), "listCorrectionRequests")
opid(op("/api/v1/correction-requests/{id}/approve", "post", "approve a pending request: the change is made as a manager's manual event, "
   "correction or void is (attendance rules, audit log, the corrected mark, reports; an added exit or entry is a manual event, not marked corrected, "
   "as a manager's own). All or nothing: the change, the decision and its audit entry are one transaction, so a crash leaves the request pending. "
   "Refusals: already_decided (409), event_changed (409: the event was corrected, voided, moved or removed after the request). "
   "Another group's request answers as an unknown id (404) to a limited manager",
   [A, M], ok("CorrectionRequest"), {"required": False, "content": {"application/json": {"schema": ref("CorrectionDecision")}}},
   params=[pid()], tag="attendance"), "approveCorrectionRequest")
opid(op("/api/v1/correction-requests/{id}/reject", "post", "reject a pending request with a note (required); nothing else changes. "
   "already_decided (409); another group's request answers as an unknown id (404) to a limited manager",
   [A, M], ok("CorrectionRequest"), jbody("CorrectionDecision"), params=[pid()], tag="attendance"), "rejectCorrectionRequest")
opid(op("/api/v1/users", "get", "list users", [A], ok("UserList"), params=PAGE, tag="admin"), "listUsers")
opid(op("/api/v1/users", "post", "create a user", [A], ok("User", "201", "created"), jbody("UserCreate"), tag="admin"), "createUser")
opid(op("/api/v1/users/{id}", "get", "one user", [A], ok("User"), params=[pid()], tag="admin"), "getUser")
opid(op("/api/v1/users/{id}", "patch", "change a user", [A], ok("User"), jbody("UserPatch"), [pid()], tag="admin"), "updateUser")
opid(op("/api/v1/users/{id}", "delete", "delete a user", [A], NOC, params=[pid()], tag="admin"), "deleteUser")
opid(op("/api/v1/roles", "get", "the roles", [A], {"200": {"description": "OK", "content": {"application/json": {"schema": arr(ref("RoleInfo"))}}}}, tag="admin"), "listRoles")
opid(op("/api/v1/api-keys", "get", "list API keys (secrets never shown)", [A], ok("ApiKeyList"), params=PAGE, tag="admin"), "listApiKeys")
opid(op("/api/v1/api-keys", "post", "create an API key; the key is shown once", [A], ok("ApiKeyCreated", "201", "created"), jbody("ApiKeyCreate"), tag="admin"), "createApiKey")
opid(op("/api/v1/webhooks", "get", "list outgoing webhooks (secrets never shown)", [A], ok("WebhookList"), params=PAGE, tag="webhooks"), "listWebhooks")
opid(op("/api/v1/webhooks", "post", "create a webhook; its secret is shown once", [A], ok("WebhookCreated", "201", "created"), jbody("WebhookWrite"), tag="webhooks"), "createWebhook")
opid(op("/api/v1/webhooks/{id}", "get", "one webhook", [A], ok("Webhook"), params=[pid()], tag="webhooks"), "getWebhook")
opid(op("/api/v1/webhooks/{id}", "patch", "change a webhook (fields left out keep their value)", [A], ok("Webhook"), jbody("WebhookWrite"), [pid()], tag="webhooks"), "updateWebhook")
opid(op("/api/v1/webhooks/{id}", "delete", "delete a webhook and its deliveries", [A], NOC, params=[pid()], tag="webhooks"), "deleteWebhook")
opid(op("/api/v1/webhooks/{id}/test", "post", "queue a test delivery (409 when the webhook is disabled)", [A], ok("WebhookTest", "202", "queued"), params=[pid()], tag="webhooks"), "testWebhook")
opid(op("/api/v1/webhooks/{id}/deliveries", "get", "a webhook's deliveries, newest first, with their status", [A], ok("DeliveryList"), params=[pid()] + PAGE, tag="webhooks"), "listWebhookDeliveries")
opid(op("/api/v1/webhooks/{id}/deliveries/{delivery_id}/retry", "post", "send a dead (or delivered) delivery again, attempts counted from zero (409 while pending)", [A], ok("Delivery", "202", "queued again"), params=[pid(), pid("delivery_id")], tag="webhooks"), "retryWebhookDelivery")
opid(op("/api/v1/api-keys/{id}", "delete", "revoke an API key", [A], NOC, params=[pid()], tag="admin"), "deleteApiKey")
opid(op("/api/v1/audit", "get", "audit log", [A], ok("AuditEntryList"), params=PAGE + [q("action")], tag="admin"), "listAudit")
opid(op("/api/v1/settings", "get", "settings", [A], ok("Settings"), tag="admin"), "getSettings")
opid(op("/api/v1/settings", "patch", "change settings", [A], ok("Settings"), jbody("Settings"), tag="admin"), "updateSettings")
opid(op("/api/v1/persons", "get", "list and search persons", [A, M, AU], ok("PersonList"),
   params=[q("q"), q("group_id", INT), dict(q("active"), schema={"type": STR, "enum": ["true", "false", "all"]},
       description="default true: active people only; false: the archived only; all: everyone")] + PAGE, tag="people"), "listPersons")
opid(op("/api/v1/persons", "post", "create a person", [A, M], ok("Person", "201", "created"), jbody("PersonCreate"), tag="people"), "createPerson")
opid(op("/api/v1/persons/{id}", "get", "one person", [A, M, AU], ok("Person"), params=[pid()], tag="people"), "getPerson")
opid(op("/api/v1/persons/{id}", "patch", "change a person", [A, M], ok("Person"), jbody("PersonPatch"), [pid()], tag="people"), "updatePerson")
opid(op("/api/v1/persons/{id}", "delete", "full erase (a privacy request): the person, their faces, embeddings, photo, events, memberships, own schedules and the sightings that matched them; audited as counts per kind without their code or name", [A, M], NOC, params=[pid()], tag="people"), "deletePerson")
opid(op("/api/v1/persons/{id}/biometrics", "delete", "erase the biometric data only (faces, embeddings, photo, matching sightings); the person and their attendance history stay; audited with counts", [A, M], ok("Erased"), params=[pid()], tag="people"), "erasePersonBiometrics")
opid(op("/api/v1/persons/{id}/archive", "post", "archive (deactivate): out of recognition and default lists, no absences from today on, history kept", [A, M], ok("Person"), params=[pid()], tag="people"), "archivePerson")
opid(op("/api/v1/persons/{id}/restore", "post", "undo an archive", [A, M], ok("Person"), params=[pid()], tag="people"), "restorePerson")
opid(op("/api/v1/persons/{id}/pin", "put", "set or remove the person's kiosk PIN", [A, M],
   {"200": {"description": "OK", "content": {"application/json": {"schema": obj({"pin_set": BOOL}, ["pin_set"])}}}},
   jbody("PersonPin"), [pid()], tag="people"), "setPersonPin")
LEAVE_RANGE = [q("from", STR, format="date"), q("to", STR, "at most 366 days after from", format="date")]
opid(op("/api/v1/persons/{id}/leaves", "get", "a person's leaves (sick, vacation, personal, justified, other) that overlap from..to (default all): "
   "their slots on those days are not absences", [A, M, AU], ok("LeaveList"), params=[pid()] + LEAVE_RANGE, tag="people"), "listPersonLeaves")
opid(op("/api/v1/persons/{id}/leaves", "post", "record a leave or justified absence from..to (inclusive local days); "
   "409 conflict when it overlaps another of the person's; audited", [A, M], ok("Leave", "201", "created"), jbody("LeaveWrite"), [pid()], tag="people"), "createPersonLeave")
opid(op("/api/v1/persons/{id}/leaves/{leave_id}", "delete", "delete one of the person's leaves; audited", [A, M], NOC,
   params=[pid(), pid("leave_id")], tag="people"), "deletePersonLeave")
opid(op("/api/v1/persons/{id}/leaves/{leave_id}", "patch", "change one of the person's leaves in place (what the body names; "
   "the same checks as creating it, 409 conflict when it would overlap another); who created it stays; audited with before and after",
   [A, M], ok("Leave"), jbody("LeavePatch"), [pid(), pid("leave_id")], tag="people"), "updatePersonLeave")
opid(op("/api/v1/leaves", "get", "everyone's leaves that overlap from..to (default today; a group's members with group_id; "
   "a manager limited to groups: their people only)", [A, M, AU], ok("LeaveList"), params=LEAVE_RANGE + [q("group_id", INT)], tag="people"), "listLeaves")
opid(op("/api/v1/self/leaves", "get", "the member's own leaves and justified absences; not_linked (409) when the account is not linked to a person",
   [MB], ok("LeaveList"), tag="self"), "selfLeaves")
opid(op("/api/v1/persons/{id}/photo", "get", "best enrolled face crop", [A, M],
   {"200": {"description": "JPEG", "content": {"image/jpeg": {"schema": {"type": STR, "format": "binary"}}}}}, params=[pid()], tag="people"), "getPersonPhoto")
opid(op("/api/v1/persons/{id}/faces", "get", "enrolled faces", [A, M],
   {"200": {"description": "OK", "content": {"application/json": {"schema": arr(ref("Face"))}}}}, params=[pid()], tag="people"), "listFaces")
opid(op("/api/v1/persons/{id}/faces", "post", "enroll one or many photos", [A, M],
   {"200": {"description": "per-file results", "content": {"application/json": {"schema": obj({"results": arr(ref("FaceUploadResult"))}, ["results"])}}}},
   IMG, [pid(), q("allow_duplicate", BOOL, "admin only: enroll a face even though it matches another enrolled person (duplicate_identity); written to the audit log")], tag="people", work=True), "uploadFaces")
opid(op("/api/v1/persons/{id}/faces/{face_id}", "delete", "delete an enrolled face", [A, M], NOC, params=[pid(), pid("face_id")], tag="people"), "deleteFace")
opid(op("/api/v1/faces/{face_id}/image", "get", "aligned 112x112 face crop", [A, M],
   {"200": {"description": "JPEG", "content": {"image/jpeg": {"schema": {"type": STR, "format": "binary"}}}}}, params=[pid("face_id")], tag="people"), "getFaceImage")
opid(op("/api/v1/sightings", "get", "unknown faces kept for review (keep unrecognized faces), newest first; a day or a from/to range of local days, a camera", [A, M], ok("SightingList"),
   params=[q("day", STR, format="date"), q("from", STR, format="date"), q("to", STR, format="date"), q("camera_id", INT)] + PAGE, tag="review"), "listSightings")
opid(op("/api/v1/sightings/{id}/image", "get", "the face as the camera saw it (twice the face's size around it)", [A, M],
   {"200": {"description": "JPEG", "content": {"image/jpeg": {"schema": {"type": STR, "format": "binary"}}}}}, params=[pid()], tag="review"), "getSightingImage")
opid(op("/api/v1/sightings/{id}", "delete", "dismiss an unknown face (audited)", [A, M], NOC, params=[pid()], tag="review"), "dismissSighting")
opid(op("/api/v1/sightings/dismiss", "post", "dismiss several unknown faces (audited each)", [A, M], ok("SightingsDismissed"), jbody("SightingDismiss"), tag="review"), "dismissSightings")
opid(op("/api/v1/sightings/{id}/assign", "post", "enroll an unknown face as a person's (the enrollment policy: a refusal is 422 with its reason code, e.g. duplicate_identity); optionally record the attendance at its time as a manual event (audited)", [A, M],
   ok("SightingAssigned"), jbody("SightingAssign"), [pid()], tag="review", work=True), "assignSighting")
opid(op("/api/v1/import", "post", "dataset import (streamed per-file results): each file part is named by its path in the dataset, PERSON/PHOTO (or a bare PHOTO after a `person` field); a top-level .csv is the roster (code, first name, last name, kind, group, email; ',' or ';'; English or Spanish header), which may come alone. Other files are skipped with a reason before counting. A folder is matched to a roster row by code or by name; without one its name is the code and gives the name ('María José Núñez', 'Núñez García, María José'). A person is created or changed only when one of their photos is accepted; roster rows without photos create or update people. Lines: skipped files and roster errors first, then each person's photos and outcome, then a summary with done=true. The photo files wait on disk (an unnamed file in the data folder) until their person's turn; a full disk is 507 spool_failed", [A, M],
   {"200": {"description": "one JSON object per line", "content": {"application/x-ndjson": {"schema": ref("ImportLine")}}}},
   {"required": True, "content": {"multipart/form-data": {"schema": obj({"person": STR, "consent": {"type": BOOL, "description": "true: the caller holds these people's consent; it is recorded now for each one who has none"}, "folder_codes": {"type": BOOL, "default": True, "description": "a folder named '1234_Ana_Garcia' or '1234 - Ana García' is the code 1234 and the name Ana Garcia; false: the whole folder name is the code (and the name)"}, "file": {"type": STR, "format": "binary"}})}}}, tag="people"), "importDataset")
opid(op("/api/v1/groups", "get", "list groups", [A, M, AU], ok("GroupList"), params=PAGE, tag="groups"), "listGroups")
opid(op("/api/v1/groups", "post", "create a group", [A, M], ok("Group", "201", "created"), jbody("GroupWrite"), tag="groups"), "createGroup")
opid(op("/api/v1/groups/{id}", "get", "one group", [A, M, AU], ok("Group"), params=[pid()], tag="groups"), "getGroup")
opid(op("/api/v1/groups/{id}", "patch", "change a group", [A, M], ok("Group"), jbody("GroupWrite"), [pid()], tag="groups"), "updateGroup")
opid(op("/api/v1/groups/{id}", "delete", "delete a group", [A, M], NOC, params=[pid()], tag="groups"), "deleteGroup")
opid(op("/api/v1/groups/{id}/members", "get", "members", [A, M, AU], ok("PersonList"), params=[pid()] + PAGE, tag="groups"), "listMembers")
opid(op("/api/v1/groups/{id}/members", "put", "replace the member list", [A, M], ok("PersonList"), jbody("MemberIds"), [pid()], tag="groups"), "setMembers")
opid(op("/api/v1/groups/{id}/members/{person_id}", "post", "add a member (joined today), or with joined_on set or move the day they joined", [A, M], NOC,
   params=[pid(), pid("person_id"), dict(q("joined_on"), schema={"type": STR, "format": "date"})], tag="groups"), "addMember")
opid(op("/api/v1/groups/{id}/members/{person_id}", "delete", "remove a member", [A, M], NOC, params=[pid(), pid("person_id")], tag="groups"), "removeMember")
opid(op("/api/v1/schedules", "get", "list schedules", [A, M, AU], ok("ScheduleList"), params=[q("group_id", INT), q("person_id", INT), q("on", STR, "the slots in force on this local day (default today), and flagged upcoming those that begin later", format="date")] + PAGE, tag="groups"), "listSchedules")
opid(op("/api/v1/schedules", "post", "create a schedule (409 overlap when it shares a minute of the week with another slot of the same group or person)", [A, M], ok("Schedule", "201", "created"), jbody("ScheduleWrite"), tag="groups"), "createSchedule")
opid(op("/api/v1/schedules", "put", "replace a group's or person's whole timetable from the effective day on, in one transaction (slots with an id are kept, or changed: one in force before that day ends the day before and a new slot with a new id carries it on; without an id created; the others end the day before; 409 overlap and nothing changed when two slots in force on a same day share a minute of the week). Answers the slots in force from the effective day", [A, M], ok("ScheduleList"), jbody("TimetableWrite"), tag="groups"), "replaceSchedules")
opid(op("/api/v1/schedules/{id}", "patch", "change a schedule from the effective day on (one in force before it ends the day before and the answer is the new slot, with a new id; 409 overlap as for create)", [A, M], ok("Schedule"), jbody("ScheduleWrite"), [pid()], tag="groups"), "updateSchedule")
opid(op("/api/v1/schedules/{id}", "delete", "end a schedule the day before ?effective= (default today; rules as for PUT), or remove it when it would only begin on or after that day", [A, M], NOC, params=[pid(), q("effective", STR, "the first day without the slot", format="date")], tag="groups"), "deleteSchedule")
opid(op("/api/v1/holidays", "get", "list holidays", [A, M, AU], ok("HolidayList"), params=PAGE, tag="groups"), "listHolidays")
opid(op("/api/v1/holidays", "post", "add a holiday, or one a day from date to `to` (an existing day's name is replaced), in one transaction; answers the first day with `to` and the number of days", [A, M], ok("HolidayCreated", "201", "created"), jbody("HolidayWrite"), tag="groups"), "createHoliday")
opid(op("/api/v1/holidays/{id}", "delete", "delete a holiday", [A, M], NOC, params=[pid()], tag="groups"), "deleteHoliday")
opid(op("/api/v1/cameras", "get", "list cameras", [A, M, AU], ok("CameraList"), params=PAGE, tag="cameras"), "listCameras")
opid(op("/api/v1/cameras", "post", "add a camera", [A], ok("Camera", "201", "created"), jbody("CameraWrite"), tag="cameras"), "createCamera")
opid(op("/api/v1/cameras/{id}", "get", "one camera", [A], ok("Camera"), params=[pid()], tag="cameras"), "getCamera")
opid(op("/api/v1/cameras/{id}", "patch", "change a camera", [A], ok("Camera"), jbody("CameraWrite"), [pid()], tag="cameras"), "updateCamera")
opid(op("/api/v1/cameras/{id}", "delete", "delete a camera", [A], NOC, params=[pid()], tag="cameras"), "deleteCamera")
opid(op("/api/v1/cameras/{id}/snapshot", "get", "last frame with boxes", [A],
   {"200": {"description": "JPEG", "content": {"image/jpeg": {"schema": {"type": STR, "format": "binary"}}}}}, params=[pid()], tag="cameras"), "getCameraSnapshot")
opid(op("/api/v1/recognize", "post", "recognize every face in one frame", [A, D], ok("RecognizeResult"), IMG,
   [q("mark", BOOL, "create attendance events (device keys and admin only)"), q("camera_id", INT),
    q("kind", STR, "entry or exit, as chosen on the kiosk (a camera set to both)", enum=["entry", "exit"])], tag="recognition", work=True), "recognize")
opid(op("/api/v1/detect", "post", "detect faces", [A, M, D], ok("DetectResult"), IMG, tag="recognition", work=True), "detect")
opid(op("/api/v1/verify", "post", "compare two faces 1:1", [A, M, D], ok("VerifyResult"),
   {"required": True, "content": {"multipart/form-data": {"schema": obj({"a": {"type": STR, "format": "binary"}, "b": {"type": STR, "format": "binary"}}, ["a", "b"])}}}, tag="recognition", work=True), "verify")
ATTQ = [q("from", STR, format="date-time"), q("to", STR, format="date-time"), q("person_id", INT), q("group_id", INT), q("status"), q("camera_id", INT), q("type"),
        q("include_void", BOOL, "also voided events (left out by default)")]
opid(op("/api/v1/attendance", "get", "attendance events (members see only their own)", [A, M, MB, AU], ok("AttendanceEventList"), params=ATTQ + PAGE, tag="attendance"), "listAttendance")
opid(op("/api/v1/attendance", "post", "record an event by hand", [A, M], ok("AttendanceEvent", "201", "created"), jbody("ManualEvent"), tag="attendance"), "createAttendance")
opid(op("/api/v1/attendance/{id}", "patch", "correct an event", [A, M], ok("AttendanceEvent"), jbody("EventCorrection"), [pid()], tag="attendance"), "correctAttendance")
opid(op("/api/v1/attendance/{id}", "delete", "delete an event (the reason and old values go to the audit log)", [A, M], NOC, jbody("Reason"), [pid()], tag="attendance"), "deleteAttendance")
opid(op("/api/v1/attendance/{id}/void", "post", "void an event: kept and shown, counted by nothing", [A, M], ok("AttendanceEvent"), jbody("Reason"), [pid()], tag="attendance"), "voidAttendance")
opid(op("/api/v1/attendance/{id}/not-this-person", "post", "a recognition named the wrong person: void (or erase) the event with a reason, optionally delete the enrolled face that matched and keep the face as seen as an unknown face (automatic events only; audited)", [A, M], ok("NotThisPersonResult"), jbody("NotThisPerson"), [pid()], tag="attendance"), "notThisPerson")
opid(op("/api/v1/attendance/export", "get", "export events", [A, M, AU],
   {"200": {"description": "file", "content": {"text/csv": {"schema": {"type": STR}}, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {"schema": {"type": STR, "format": "binary"}}}}},
   params=[q("format", STR, enum=["csv", "xlsx"]), q("from"), q("to"), q("group_id", INT), q("person_id", INT),
     q("lang", STR, "headers and values: en (default) or es", enum=["en", "es"]),
     q("sep", STR, "CSV separator (default: comma for en, semicolon for es)", enum=["comma", "semicolon", "tab"]),
     q("bom", BOOL, "UTF-8 byte-order mark first (default: for es)"), q("label", STR, "only the slots with this schedule label (subject)")], tag="attendance"), "exportAttendance")
opid(op("/api/v1/reports/summary", "get", "per-person summary", [A, M, MB, AU], ok("SummaryReport"), params=[q("from", STR, format="date"), q("to", STR, format="date"), q("group_id", INT), q("person_id", INT), q("label", STR, "only the slots with this schedule label (subject)")], tag="attendance"), "reportSummary")
LABEL = q("label", STR, "only the slots with this schedule label (subject)")
opid(op("/api/v1/reports/daily", "get", "per-day figures in people (days with slots only)", [A, M, AU], ok("DailyReport"), params=[q("from", STR, format="date"), q("to", STR, format="date"), q("group_id", INT), LABEL], tag="attendance"), "reportDaily")
opid(op("/api/v1/reports/groups", "get", "report per group and subject over a range: per person, per group, per day", [A, M, AU], ok("GroupReport"),
   params=[q("from", STR, format="date"), q("to", STR, format="date"), q("group_id", INT), LABEL], tag="attendance"), "reportGroups")
opid(op("/api/v1/attendance/absentees", "get", "who is missing: slots of the day whose start + grace passed with no entry", [A, M, AU],
   {"200": {"description": "the list (JSON) or its CSV", "content": {"application/json": {"schema": ref("AbsenteeList")}, "text/csv": {"schema": {"type": STR}}}}},
   params=[q("day", STR, "default today", format="date"), q("group_id", INT), LABEL, q("format", STR, enum=["json", "csv"])], tag="attendance"), "listAbsentees")
opid(op("/api/v1/dashboard", "get", "today at a glance", [A, M, AU], ok("Dashboard"), tag="attendance"), "dashboard")
opid(op("/api/v1/events", "get", "live events (server-sent events: `recognition`, `attendance`); each caller sees only what they may (limited managers their groups' people, members themselves, camera-bound device keys their camera)", [A, M, MB, D, AU],
   {"200": {"description": "event stream", "content": {"text/event-stream": {"schema": {"type": STR}}}}}, tag="attendance"), "events")
opid(op("/process-images", "post", "compatibility: enroll a person by external id (the person is created only when a photo is accepted)", [A, M], ok("CompatEnrollResult"),
   {"required": True, "content": {"multipart/form-data": {"schema": obj({"id": STR, "images": arr({"type": STR, "format": "binary"})}, ["id", "images"])}}}, tag="compat", work=True), "compatProcessImages")
opid(op("/process_frame", "post", "compatibility: recognize one frame", [A, D], ok("CompatFrameResult"),
   {"required": True, "content": {"multipart/form-data": {"schema": obj({"frame": {"type": STR, "format": "binary"}})}, "image/jpeg": {"schema": {"type": STR, "format": "binary"}}}}, tag="compat", work=True), "compatProcessFrame")
doc = {
 "openapi": "3.0.3",
 "info": {"title": "Rollcall API", "version": "1.0.0",
   "description": "Face-recognition attendance. Errors are {error:{code,message,params}}: a stable code and its parameters for translation, and an English message. Lists take limit (default 50, max 500) and offset and answer {items,total}. State-changing requests made with the rc_session cookie need the X-CSRF-Token header; bearer API keys do not. x-roles lists the roles allowed on each operation."},
 "servers": [{"url": "/"}],
 "components": {"schemas": schemas, "securitySchemes": {
     "session": {"type": "apiKey", "in": "cookie", "name": "rc_session"},
     "bearer": {"type": "http", "scheme": "bearer", "description": "API key"}}},
 "security": [{"session": []}, {"bearer": []}],
 "paths": paths,
}
print(json.dumps(doc, indent=1))
