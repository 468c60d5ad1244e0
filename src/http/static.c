/*
 * static.c — the web UI: files under the built web directory (web/dist),
 * with index.html for any path that names no file and has no extension (the
 * single-page app routes its own URLs). A path that could leave the directory
 * (a `..` or `.` segment, a backslash, a symlink pointing outside) is refused
 * with 400 before the file system is asked; what is served is checked again
 * after resolving the real path. Only regular files are served, never a
 * directory, and never a dot file or anything under a dot directory (.env,
 * .git/...): those are 404 as if absent.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static const char *mime_for(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".webp", "image/webp"},
        {".woff2", "font/woff2"},
        {".woff", "font/woff"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
        {".wasm", "application/wasm"},
    };
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash))
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0) return types[i].type;
    return "application/octet-stream";
}

/* A request path is acceptable when every segment is a plain name. */
static bool path_is_safe(const char *p)
{
    if (p[0] != '/') return false;
    if (strchr(p, '\\') || strstr(p, "//")) return false;
    for (const char *s = p + 1; *s;) {
        const char *e = strchr(s, '/');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return false;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20) return false;
        s += n;
        if (*s == '/') s++;
    }
    return true;
}

/* Does a segment of the path start with a dot (".env", ".git/config")? */
static bool has_dot_segment(const char *p)
{
    return p[0] == '.' || strstr(p, "/.") != NULL;
}

static bool has_extension(const char *p)
{
    const char *slash = strrchr(p, '/');
    const char *dot = strrchr(p, '.');
    return dot && (!slash || dot > slash);
}

/* Open the file at root/rel when its real path is inside root. */
static int open_inside(const char *root_real, const char *rel, struct stat *st)
{
    char path[PATH_MAX], real[PATH_MAX];
    if (snprintf(path, sizeof path, "%s%s", root_real, rel) >= (int)sizeof path) return -1;
    if (!realpath(path, real)) return -1;
    size_t rl = strlen(root_real);
    if (strncmp(real, root_real, rl) != 0 || (real[rl] != '/' && real[rl] != 0)) return -1;
    /* The real path may differ from the asked one (a symlink inside the
     * directory): it must not be a dot file either. */
    if (has_dot_segment(real + rl)) return -1;
    int fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

enum MHD_Result http_static_serve(http_req *r, const char *web_dir)
{
    if (!path_is_safe(r->path))
        return http_reply_error(r, MHD_HTTP_BAD_REQUEST, "bad_path",
                                "the path contains '.', '..', '//' or a backslash segment");
    char root[PATH_MAX];
    if (!web_dir || !realpath(web_dir, root)) {
        if (strcmp(r->path, "/") == 0)
            return http_reply_error(r, MHD_HTTP_NOT_FOUND, "no_web_ui",
                                    "the web UI is not built (run scripts/build-web); the API is "
                                    "at /api/v1 and described at /api/v1/openapi.json");
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such file: %.200s",
                                r->path);
    }
    struct stat st;
    const char *rel = r->path;
    char idx[PATH_MAX];
    if (rel[strlen(rel) - 1] == '/') {
        snprintf(idx, sizeof idx, "%sindex.html", rel);
        rel = idx;
    }
    int fd = has_dot_segment(rel) ? -1 : open_inside(root, rel, &st);
    if (fd < 0 && !has_extension(r->path) && !has_dot_segment(rel)) {
        rel = "/index.html"; /* single-page app route */
        fd = open_inside(root, rel, &st);
    }
    if (fd < 0)
        return http_reply_error(r, MHD_HTTP_NOT_FOUND, "not_found", "no such file: %.200s",
                                r->path);
    struct MHD_Response *resp = MHD_create_response_from_fd((uint64_t)st.st_size, fd);
    if (!resp) {
        close(fd);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", mime_for(rel));
    /* Vite puts content-hashed names under assets/: cache those for good. */
    MHD_add_response_header(resp, "Cache-Control",
                            strncmp(rel, "/assets/", 8) == 0 ? "public, max-age=31536000, immutable"
                                                             : "no-cache");
    return http_reply_response(r, MHD_HTTP_OK, resp);
}
