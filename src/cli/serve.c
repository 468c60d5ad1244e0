/*
 * serve.c — `rollcall serve`: create the data directory, find the models,
 * open the database (creating the first admin on first start), wire the
 * pieces — the attendance rules, recognition (src/recog: models, workers,
 * the gallery and its follower), the cameras feeding it (src/camera) and
 * the HTTP server in front — and run until SIGINT or SIGTERM, then shut
 * down cleanly in reverse order (requests in flight finish first, then
 * camera frames, then the database is closed).
 */
#include <dirent.h>
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../attendance/att.h"
#include "../camera/camera.h"
#include "../http/http.h"
#include "../notify/notify.h"
#include "../recog/recog.h"
#include "../store/store.h"
#include "../rc/rc.h"
#include "cli.h"

static void serve_usage(FILE *out)
{
    fprintf(out,
            "Usage: rollcall serve [OPTIONS]\n\n"
            "Run the Rollcall server: REST API under /api/v1, web UI at /, health at /healthz.\n\n"
            "Options:\n"
            "  -l, --listen HOST:PORT  address to listen on (default 127.0.0.1:8080;\n"
            "                          0.0.0.0:8080 for every interface, port 0 picks one)\n"
            "  -d, --data DIR          data directory, created if missing (default ./data)\n"
            "  -m, --models DIR        directory with the ONNX models (default ./models)\n"
            "      --db URL            database: a SQLite file or postgres://... URL\n"
            "                          (default $ROLLCALL_DB, else DATA/rollcall.db)\n"
            "      --admin-email EMAIL first start: the admin account to create\n"
            "                          (default admin@localhost)\n"
            "      --admin-password PW first start: its password (default: a random one-time\n"
            "                          password, printed once)\n"
            "  -w, --web DIR           built web UI to serve at / (default ./web/dist)\n"
            "  -t, --threads N         recognitions at once, and HTTP threads (default: one\n"
            "                          per core); N more recognition threads stand by to\n"
            "                          run the next frame while one waits for the disk\n"
            "      --queue N           recognition requests that may wait for a worker\n"
            "                          (default 4 per thread); beyond it: 503 + Retry-After\n"
            "      --camera-down S     a camera without frames this many seconds is reported\n"
            "                          once to the camera_down webhooks (default 30)\n"
            "      --camera-tracking on|regions|off  cameras track faces across frames: the\n"
            "                          detector every 2nd frame, the whole pipeline for new\n"
            "                          faces and every 2 s (default on); regions: between\n"
            "                          whole-frame detections every 4th frame, the detector\n"
            "                          only around the tracked faces; off: every frame, all\n"
            "                          of it\n"
            "      --tls-cert FILE     PEM certificate: serve HTTPS (needs --tls-key)\n"
            "      --tls-key FILE      PEM private key for --tls-cert\n"
            "      --max-body MB       largest request body in MB (default 20)\n"
            "      --max-import MB     largest dataset import in MB (default 512)\n"
            "      --max-files N       most files in one upload (default 100)\n"
            "      --request-timeout S seconds a request may take to arrive (default 120)\n"
            "      --header-timeout S  seconds a connection has to send a request's line and\n"
            "                          headers, also the longest idle keep-alive (default 15)\n"
            "      --max-conns N       open connections at most (default 1000)\n"
            "      --max-conns-per-ip N  open connections from one client address, an IPv6\n"
            "                          client off site counted by its /64 (default 128; 0 =\n"
            "                          no limit: behind a reverse proxy on this host every\n"
            "                          client is 127.0.0.1: let the proxy limit them)\n"
            "      --metrics-public-loopback  GET /metrics without credentials from\n"
            "                          127.0.0.1/::1 (default: an admin or a metrics API key)\n"
            "      --no-access-log     do not log one line per request\n"
            "      --list-routes       print every route with its allowed roles and exit\n"
            "      --skip-db-check     start even if the database fails its check at start\n"
            "                          (to read out what is left of a damaged one)\n"
            "  -v, --verbose           log debug messages\n"
            "  -h, --help              show this help\n");
}

/* One look at every camera for the camera_down webhooks: streaming is up,
 * disabled or a file that ended is off (nothing to say), anything else is
 * not delivering frames and, past notify's camera_down_ms, down. */
static void cameras_to_webhooks(cam_feed *cams, notify *n)
{
    cam_manager *m = cam_feed_manager(cams);
    int ids[256];
    size_t k = cam_manager_list(m, ids, sizeof ids / sizeof ids[0]);
    if (k > sizeof ids / sizeof ids[0]) k = sizeof ids / sizeof ids[0];
    for (size_t i = 0; i < k; i++) {
        cam_status st;
        rc_error err;
        if (cam_manager_status(m, ids[i], &st, &err) != RC_OK) continue;
        int up = st.state == CAM_STATE_STREAMING;
        int off = st.state == CAM_STATE_DISABLED || st.state == CAM_STATE_ENDED;
        if (notify_camera_state(n, ids[i], NULL, up, off, st.last_error, rc_unix_ms(), NULL,
                                &err) != RC_OK)
            rc_log(RC_LOG_WARN, "camera_down webhook for camera %d: %s", ids[i], err.msg);
    }
}

/* The absentee list of each group slot that became due goes to the
 * "absentees" webhooks (once per slot: notify_absentees keys it in the
 * outbox, so a restart does not send it again). */
static void absentees_to_webhooks(store *db, att *rules, notify *n)
{
    rc_error err;
    int64_t queued = 0;
    if (notify_absentees(db, rules, rc_unix_ms(), &queued, &err) != RC_OK)
        rc_log(RC_LOG_WARN, "absentee webhooks: %s", err.msg);
    else if (queued)
        notify_wake(n);
}

/* Kept faces older than the retention setting are erased; the count goes to
 * the log and the audit log (who: "system"). */
static void expire_kept_faces(store *db, att *rules)
{
    rc_error err;
    int64_t removed = 0;
    if (att_expire_unrecognized(rules, rc_unix_ms(), &removed, &err) != RC_OK) {
        rc_log(RC_LOG_WARN, "erasing expired unrecognized faces: %s", err.msg);
        return;
    }
    if (!removed) return;
    rc_log(RC_LOG_INFO, "erased %lld unrecognized face(s) older than the retention",
           (long long)removed);
    char detail[64];
    snprintf(detail, sizeof detail, "{\"removed\":%lld}", (long long)removed);
    if (store_audit_add(db, "system", "sighting.expire", "sighting", 0, detail, &err) != RC_OK)
        rc_log(RC_LOG_WARN, "audit: %s", err.msg);
}

/* A live face nobody enrolled, seen while marking attendance, goes to the
 * unknown_face webhooks (notify throttles them per camera). recog decides
 * what counts (RECOG_EVENT_UNKNOWN); a /recognize without mark=true says
 * nothing. */
static void unknown_faces_to_webhooks(void *user, const recog_event *ev)
{
    if (ev->kind != RECOG_EVENT_UNKNOWN || !ev->face) return;
    notify_unknown_face(user, ev->camera_id, NULL, ev->face->match.score, ev->face->face.liveness,
                        NULL, NULL);
}

/* The stop signal, when it reached a thread other than the one waiting for
 * it. Threads that libraries start before main (OpenBLAS's pool) do not
 * block SIGINT/SIGTERM; without a handler, the default action would end the
 * process there, skipping the orderly shutdown. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char **cli_list_models(const char *models_dir)
{
    size_t n = 0, cap = 16;
    char **list = calloc(cap + 1, sizeof *list);
    if (!list) return NULL;
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", models_dir);
    json_t *manifest = json_load_file(path, 0, NULL);
    json_t *files = manifest ? json_object_get(manifest, "files") : NULL;
    if (json_is_array(files)) {
        size_t i;
        json_t *f;
        json_array_foreach(files, i, f)
        {
            const char *name = json_string_value(json_object_get(f, "file"));
            if (!name || n == cap) continue;
            snprintf(path, sizeof path, "%s/%s", models_dir, name);
            FILE *fp = fopen(path, "rb");
            if (!fp) continue;
            fclose(fp);
            list[n++] = strdup(name);
        }
    } else {
        DIR *d = opendir(models_dir);
        struct dirent *e;
        while (d && (e = readdir(d)) && n < cap) {
            size_t l = strlen(e->d_name);
            if (l > 5 && strcmp(e->d_name + l - 5, ".onnx") == 0) list[n++] = strdup(e->d_name);
        }
        if (d) closedir(d);
    }
    json_decref(manifest);
    qsort(list, n, sizeof *list, cmp_str);
    return list;
}

void cli_free_list(char **list)
{
    for (size_t i = 0; list && list[i]; i++) free(list[i]);
    free(list);
}

/* A whole number option in [min, max]; false after printing why not. */
static bool parse_count(const char *opt, const char *text, long min, long max, long *out)
{
    char *end;
    long n = strtol(text, &end, 10);
    if (!*text || *end || n < min || n > max) {
        fprintf(stderr, "rollcall serve: %s wants a number from %ld to %ld (got '%s')\n", opt, min,
                max, text);
        return false;
    }
    *out = n;
    return true;
}

static char *read_pem(const char *opt, const char *path)
{
    unsigned char *buf = NULL;
    size_t len;
    rc_error err;
    if (rc_read_file(path, 1024 * 1024, &buf, &len, &err) != RC_OK) {
        fprintf(stderr, "rollcall serve: %s: %s\n", opt, err.msg);
        return NULL;
    }
    if (!strstr((char *)buf, "-----BEGIN ")) {
        fprintf(stderr, "rollcall serve: %s: %s is not a PEM file\n", opt, path);
        free(buf);
        return NULL;
    }
    return (char *)buf;
}

enum {
    OPT_TLS_CERT = 256,
    OPT_TLS_KEY,
    OPT_MAX_BODY,
    OPT_MAX_IMPORT,
    OPT_MAX_FILES,
    OPT_REQUEST_TIMEOUT,
    OPT_NO_ACCESS_LOG,
    OPT_LIST_ROUTES,
    OPT_DB,
    OPT_ADMIN_EMAIL,
    OPT_ADMIN_PASSWORD,
    OPT_QUEUE,
    OPT_CAMERA_DOWN,
    OPT_CAMERA_TRACKING,
    OPT_HEADER_TIMEOUT,
    OPT_MAX_CONNS,
    OPT_MAX_CONNS_PER_IP,
    OPT_METRICS_LOOPBACK,
    OPT_SKIP_DB_CHECK,
};

/* Open the database, check it (PRAGMA quick_check on SQLite), then migrate.
 * A damaged database is refused before anything writes to it, with what the
 * check found and the way out; --skip-db-check starts anyway. */
static store *open_checked(const char *db_url, bool skip_check)
{
    store *db = NULL;
    rc_error err;
    char found[1024] = "";
    rc_status st = store_open(db_url, STORE_OPEN_NO_MIGRATE, &db, &err);
    if (st == RC_OK) st = store_quick_check(db, found, sizeof found, &err);
    if (st == RC_ERR_CORRUPT)
        snprintf(found, sizeof found, "%s", err.msg);
    else if (st != RC_OK) {
        fprintf(stderr, "rollcall serve: %s\n", err.msg);
        store_close(db);
        return NULL;
    }
    if (strcmp(found, "ok") != 0) {
        if (db)
            fprintf(stderr,
                    "rollcall serve: the database %s is damaged; PRAGMA quick_check says: %s\n",
                    db_url, found);
        else /* too damaged to open: store_open's message names the file */
            fprintf(stderr, "rollcall serve: %s\n", found);
        if (!skip_check || !db) {
            fprintf(stderr,
                    "Nothing was changed and the server did not start. Restore the latest backup\n"
                    "(made by rollcall db backup FILE), or recover what is readable into a new "
                    "file:\n  sqlite3 %s .recover | sqlite3 recovered.db\n"
                    "and start with --db recovered.db.%s\n",
                    db_url,
                    db ? " To start on it anyway and read what is left (requests\n"
                         "that reach damaged pages fail with 500): --skip-db-check."
                       : "");
            store_close(db);
            return NULL;
        }
        rc_log(RC_LOG_WARN, "starting on a damaged database (--skip-db-check)");
    }
    if (store_migrate(db, NULL, &err) != RC_OK) {
        fprintf(stderr, "rollcall serve: %s\n", err.msg);
        store_close(db);
        return NULL;
    }
    return db;
}

int cli_serve(int argc, char **argv)
{
    http_config cfg = {.listen = "127.0.0.1:8080",
                       .data_dir = "./data",
                       .models_dir = "./models",
                       .web_dir = "./web/dist",
                       .access_log = true};
    const char *tls_cert = NULL, *tls_key = NULL;
    const char *db_url = NULL, *admin_email = NULL, *admin_password = NULL;
    unsigned queue = 0;
    bool tracking = true, regions = false;
    notify_config ncfg = {0};
    bool skip_db_check = false;
    static const struct option opts[] = {
        {"listen", required_argument, 0, 'l'},
        {"data", required_argument, 0, 'd'},
        {"models", required_argument, 0, 'm'},
        {"web", required_argument, 0, 'w'},
        {"threads", required_argument, 0, 't'},
        {"tls-cert", required_argument, 0, OPT_TLS_CERT},
        {"tls-key", required_argument, 0, OPT_TLS_KEY},
        {"max-body", required_argument, 0, OPT_MAX_BODY},
        {"max-import", required_argument, 0, OPT_MAX_IMPORT},
        {"max-files", required_argument, 0, OPT_MAX_FILES},
        {"request-timeout", required_argument, 0, OPT_REQUEST_TIMEOUT},
        {"header-timeout", required_argument, 0, OPT_HEADER_TIMEOUT},
        {"max-conns", required_argument, 0, OPT_MAX_CONNS},
        {"max-conns-per-ip", required_argument, 0, OPT_MAX_CONNS_PER_IP},
        {"metrics-public-loopback", no_argument, 0, OPT_METRICS_LOOPBACK},
        {"no-access-log", no_argument, 0, OPT_NO_ACCESS_LOG},
        {"list-routes", no_argument, 0, OPT_LIST_ROUTES},
        {"db", required_argument, 0, OPT_DB},
        {"admin-email", required_argument, 0, OPT_ADMIN_EMAIL},
        {"admin-password", required_argument, 0, OPT_ADMIN_PASSWORD},
        {"queue", required_argument, 0, OPT_QUEUE},
        {"camera-down", required_argument, 0, OPT_CAMERA_DOWN},
        {"camera-tracking", required_argument, 0, OPT_CAMERA_TRACKING},
        {"skip-db-check", no_argument, 0, OPT_SKIP_DB_CHECK},
        {"verbose", no_argument, 0, 'v'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    long n;
    optind = 1;
    while ((c = getopt_long(argc, argv, "l:d:m:w:t:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'l':
            cfg.listen = optarg;
            break;
        case 'd':
            cfg.data_dir = optarg;
            break;
        case 'm':
            cfg.models_dir = optarg;
            break;
        case 'w':
            cfg.web_dir = optarg;
            break;
        case OPT_TLS_CERT:
            tls_cert = optarg;
            break;
        case OPT_TLS_KEY:
            tls_key = optarg;
            break;
        case OPT_MAX_BODY:
            if (!parse_count("--max-body", optarg, 1, 4096, &n)) return 2;
            cfg.limits.max_body = (size_t)n * 1024 * 1024;
            break;
        case OPT_MAX_IMPORT:
            if (!parse_count("--max-import", optarg, 1, 65536, &n)) return 2;
            cfg.limits.max_import = (size_t)n * 1024 * 1024;
            break;
        case OPT_MAX_FILES:
            if (!parse_count("--max-files", optarg, 1, 100000, &n)) return 2;
            cfg.limits.max_files = (unsigned)n;
            break;
        case OPT_REQUEST_TIMEOUT:
            if (!parse_count("--request-timeout", optarg, 1, 86400, &n)) return 2;
            cfg.limits.request_time_s = (unsigned)n;
            break;
        case OPT_HEADER_TIMEOUT:
            if (!parse_count("--header-timeout", optarg, 1, 3600, &n)) return 2;
            cfg.limits.header_timeout_s = (unsigned)n;
            break;
        case OPT_MAX_CONNS:
            if (!parse_count("--max-conns", optarg, 4, 100000, &n)) return 2;
            cfg.limits.max_conns = (unsigned)n;
            break;
        case OPT_MAX_CONNS_PER_IP:
            if (!parse_count("--max-conns-per-ip", optarg, 0, 100000, &n)) return 2;
            cfg.limits.max_conns_per_ip = (unsigned)n;
            cfg.limits.no_per_ip_limit = n == 0;
            break;
        case OPT_METRICS_LOOPBACK:
            cfg.metrics_public_loopback = true;
            break;
        case OPT_DB:
            db_url = optarg;
            break;
        case OPT_ADMIN_EMAIL:
            admin_email = optarg;
            break;
        case OPT_SKIP_DB_CHECK:
            skip_db_check = true;
            break;
        case OPT_ADMIN_PASSWORD:
            admin_password = optarg;
            break;
        case OPT_NO_ACCESS_LOG:
            cfg.access_log = false;
            break;
        case OPT_LIST_ROUTES:
            http_print_routes(stdout);
            return 0;
        case OPT_QUEUE:
            if (!parse_count("--queue", optarg, 1, 10000, &n)) return 2;
            queue = (unsigned)n;
            break;
        case OPT_CAMERA_TRACKING:
            if (strcmp(optarg, "on") && strcmp(optarg, "off") && strcmp(optarg, "regions")) {
                fprintf(stderr,
                        "rollcall serve: --camera-tracking is on, regions or off, not '%s'\n",
                        optarg);
                return 2;
            }
            tracking = strcmp(optarg, "off") != 0;
            regions = strcmp(optarg, "regions") == 0;
            break;
        case OPT_CAMERA_DOWN:
            if (!parse_count("--camera-down", optarg, 1, 86400, &n)) return 2;
            ncfg.camera_down_ms = (int64_t)n * 1000;
            break;
        case 't':
            if (!parse_count("--threads", optarg, 1, 256, &n)) return 2;
            cfg.threads = (unsigned)n;
            break;
        case 'v':
            rc_log_set_level(RC_LOG_DEBUG);
            break;
        case 'h':
            serve_usage(stdout);
            return 0;
        default:
            serve_usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "rollcall serve: unexpected argument '%s'\n", argv[optind]);
        serve_usage(stderr);
        return 2;
    }

    if ((tls_cert != NULL) != (tls_key != NULL)) {
        fprintf(stderr, "rollcall serve: --tls-cert and --tls-key go together\n");
        return 2;
    }
    rc_error err;
    char host[64];
    uint16_t port;
    if (http_parse_listen(cfg.listen, host, &port, &err) != RC_OK) {
        fprintf(stderr, "rollcall serve: %s\n", err.msg);
        return 2;
    }
    if (rc_mkdir_p(cfg.data_dir, &err) != RC_OK) {
        fprintf(stderr, "rollcall serve: %s\n", err.msg);
        return 1;
    }
    char db_default[4096];
    db_url = cli_db_url(db_url, cfg.data_dir, db_default, sizeof db_default);
    store *db = open_checked(db_url, skip_db_check);
    if (!db) return 1;
    cfg.store = db;
    char generated[33];
    bool created;
    if (http_ensure_admin(db, admin_email, admin_password, generated, &created, &err) != RC_OK) {
        fprintf(stderr, "rollcall serve: cannot create the first admin: %s\n", err.msg);
        store_close(db);
        return 1;
    }
    if (created && generated[0])
        printf("Created the first admin %s with the one-time password %s\n"
               "Sign in and change it (or: rollcall user passwd %s).\n",
               admin_email ? admin_email : "admin@localhost", generated,
               admin_email ? admin_email : "admin@localhost");
    else if (created)
        printf("Created the first admin %s\n", admin_email ? admin_email : "admin@localhost");
    char *cert_pem = NULL, *key_pem = NULL;
    if (tls_cert) {
        cert_pem = read_pem("--tls-cert", tls_cert);
        key_pem = cert_pem ? read_pem("--tls-key", tls_key) : NULL;
        if (!key_pem) {
            free(cert_pem);
            store_close(db);
            return 1;
        }
        cfg.tls_cert_pem = cert_pem;
        cfg.tls_key_pem = key_pem;
    }
    char **models = cli_list_models(cfg.models_dir);
    if (!models || !models[0])
        rc_log(RC_LOG_WARN, "no models found in %s (run scripts/fetch-models)", cfg.models_dir);
    cfg.models_available = (const char *const *)models;

    /* Block the stop signals in every thread; this one waits for them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    struct sigaction on_stop = {.sa_handler = on_stop_signal};
    sigemptyset(&on_stop.sa_mask);
    sigaction(SIGINT, &on_stop, NULL);
    sigaction(SIGTERM, &on_stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc_metrics *metrics = rc_metrics_create();
    att *rules = NULL;
    recog *rg = NULL;
    cam_feed *cams = NULL;
    http_server *srv = NULL;
    /* Outgoing webhooks: what is queued in the database (also by an earlier
     * run, or another process) is delivered from here. */
    notify *webhooks = NULL;
    if (notify_start(db, &ncfg, &webhooks, &err) != RC_OK) {
        fprintf(stderr, "rollcall serve: webhooks: %s\n", err.msg);
        goto fail;
    }
    cfg.notify = webhooks;
    if (!metrics || att_create(db, &rules, &err) != RC_OK) {
        fprintf(stderr, "rollcall serve: %s\n", metrics ? err.msg : "out of memory");
        goto fail;
    }
    cfg.metrics = metrics;
    cfg.att = rules;
    if (models && models[0]) {
        recog_config rcfg = {.models_dir = cfg.models_dir,
                             .workers = cfg.threads,
                             .queue = queue,
                             .store = db,
                             .att = rules,
                             .metrics = metrics,
                             .follow = true};
        rc_error rerr;
        if (recog_create(&rcfg, &rg, &rerr) != RC_OK)
            rc_log(RC_LOG_WARN, "face models not loaded, recognition is off: %s", rerr.msg);
        else if (cam_feed_create(rg, cfg.threads, metrics, &cams, &rerr) != RC_OK)
            rc_log(RC_LOG_WARN, "cameras not started: %s", rerr.msg);
        else if (!tracking)
            cam_feed_set_tracking(cams, NULL);
        else if (regions)
            cam_feed_set_tracking(cams, &(cam_track_config){.full_every = 4});
    }
    if (rg) recog_listen(rg, unknown_faces_to_webhooks, webhooks);
    cfg.recog = rg;
    cfg.cameras = cams;
    if (http_server_start(&cfg, &srv, &err) != RC_OK) {
        fprintf(stderr, "rollcall serve: %s\n", err.msg);
        goto fail;
    }
    if (cams && cam_feed_start_all(cams, db, &err) != RC_OK)
        rc_log(RC_LOG_WARN, "cameras not started: %s", err.msg);
    int v6 = strchr(host, ':') != NULL;
    printf("Rollcall %s listening on %s://%s%s%s:%u/ (data in %s, %s database)\n", RC_VERSION,
           cert_pem ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", http_server_port(srv),
           cfg.data_dir, store_backend_name(db));
    fflush(stdout);

    /* Wait for a stop signal (here, or caught by the handler in another
     * thread); meanwhile, every 2 s, tell the webhooks how each camera is
     * doing (notify decides when one is down) and queue the absentee lists
     * that became due, and at start and every hour erase the kept faces
     * older than the retention. */
    int sig;
    const struct timespec tick = {0, 250 * 1000 * 1000};
    double checked = rc_mono_ms(), expired = checked;
    expire_kept_faces(db, rules);
    while ((sig = sigtimedwait(&stop, NULL, &tick)) < 0 && !(sig = stop_signal)) {
        if (rc_mono_ms() - checked < 2000) continue;
        if (cams) cameras_to_webhooks(cams, webhooks);
        absentees_to_webhooks(db, rules, webhooks);
        checked = rc_mono_ms();
        if (checked - expired >= 3600 * 1000.0) {
            expire_kept_faces(db, rules);
            expired = checked;
        }
    }
    rc_log(RC_LOG_INFO, "received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    http_server_stop(srv);
    cam_feed_destroy(cams); /* frames in flight finish */
    recog_destroy(rg);
    notify_stop(webhooks);
    att_destroy(rules);
    rc_metrics_destroy(metrics);
    cli_free_list(models);
    free(cert_pem);
    free(key_pem);
    store_close(db);
    rc_log(RC_LOG_INFO, "stopped");
    return 0;
fail:
    cam_feed_destroy(cams);
    recog_destroy(rg);
    notify_stop(webhooks);
    if (rules) att_destroy(rules);
    rc_metrics_destroy(metrics);
    cli_free_list(models);
    free(cert_pem);
    free(key_pem);
    store_close(db);
    return 1;
}
