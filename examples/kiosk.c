/* A kiosk with the faceseal C API: enrol a person from two pictures, then
 * verify a third picture against the protected template, and print the
 * decision. Nothing but the protected template is kept between the two steps
 * (a kiosk would write it to the person's card).
 *
 *   cargo build -p faceseal-ffi
 *   cc -std=c11 -Iinclude examples/kiosk.c target/debug/libfaceseal.a -lpthread -ldl -lm -o kiosk
 *   FACESEAL_MODEL_DIR=models:/path/to/liveness/models ./kiosk a.jpg b.jpg probe.jpg
 *
 * `--repeat N` runs the enrol/verify pair N more times and prints the peak
 * resident memory before and after, to show that it does not grow. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faceseal.h"

/* The tenant's public sealing key, as your server publishes it. This one is
 * the RFC 7748 test key: replace it. */
static const uint8_t TENANT_PUBLIC_KEY[32] = {
    0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d,
    0xdc, 0xb4, 0x3e, 0xf7, 0x5a, 0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38,
    0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a};

static int fail(const char *what, FacesealStatus status) {
    fprintf(stderr, "%s failed (status %d): %s\n", what, (int)status,
            faceseal_last_error_message());
    return 1;
}

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = size > 0 ? malloc((size_t)size) : NULL;
    *len = data ? fread(data, 1, (size_t)size, f) : 0;
    fclose(f);
    return data;
}

/* Peak resident set size in kB (Linux), or -1. */
static long peak_rss_kb(void) {
    long kb = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "VmHWM:", 6) == 0) kb = strtol(line + 6, NULL, 10);
    fclose(f);
    return kb;
}

/* The template secret turns faces into templates: in production it comes
 * from the tenant's key store, and the same secret must serve enrolment and
 * verification. This demo makes a fresh one per run. */
static int load_template_secret(uint8_t secret[32]) {
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f) return -1;
    size_t n = fread(secret, 1, 32, f);
    fclose(f);
    return n == 32 ? 0 : -1;
}

static FacesealFrame picture(const uint8_t *data, size_t len) {
    FacesealFrame frame;
    memset(&frame, 0, sizeof frame);
    frame.data = data;
    frame.len = len;
    frame.format = FACESEAL_PIXEL_FORMAT_ENCODED;
    return frame;
}

static int enrol_and_verify(FacesealEngine *engine, const FacesealFrame enrol[2],
                            const FacesealFrame *probe, int print) {
    FacesealBytes sealed = {NULL, 0}, template_ = {NULL, 0};
    FacesealStatus status = faceseal_engine_enroll(engine, enrol, 2, "visitor-0001",
                                                   "consent-kiosk-0001", NULL, &sealed, &template_);
    if (status != FACESEAL_STATUS_OK) return fail("enrolment", status);
    /* `sealed` would go to the tenant's server; the kiosk keeps the template. */
    FacesealMatch match;
    status = faceseal_engine_compare_local(engine, probe, 1, "visitor-0001", "consent-kiosk-0002",
                                           template_.data, template_.len, NULL, &match);
    size_t sealed_len = sealed.len, template_len = template_.len;
    faceseal_bytes_free(&sealed);
    faceseal_bytes_free(&template_);
    if (status == FACESEAL_STATUS_NOT_LIVE) {
        if (print) printf("decision: REJECTED (liveness check failed)\n");
        return 0;
    }
    if (status != FACESEAL_STATUS_OK) return fail("verification", status);
    if (print) {
        printf("enrolled: sealed template %zu bytes, protected template %zu bytes\n", sealed_len,
               template_len);
        printf("decision: %s (score %.3f, threshold %.3f, liveness %.3f)\n",
               match.matched ? "MATCH" : "NO MATCH", match.score, match.threshold,
               match.liveness_score);
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4 && !(argc == 6 && strcmp(argv[4], "--repeat") == 0)) {
        fprintf(stderr, "usage: %s ENROL_1 ENROL_2 VERIFY [--repeat N]\n", argv[0]);
        return 2;
    }
    long repeat = argc == 6 ? strtol(argv[5], NULL, 10) : 0;
    if (faceseal_abi_version() != FACESEAL_ABI_VERSION) {
        fprintf(stderr, "faceseal.h does not match the library\n");
        return 1;
    }
    size_t len[3];
    uint8_t *bytes[3];
    for (int i = 0; i < 3; i++) {
        bytes[i] = read_file(argv[1 + i], &len[i]);
        if (!bytes[i]) {
            fprintf(stderr, "cannot read %s\n", argv[1 + i]);
            return 2;
        }
    }
    uint8_t secret[32];
    if (load_template_secret(secret) != 0) return 1;

    int rc = 1;
    FacesealConfig *config = NULL;
    FacesealEngine *engine = NULL;
    FacesealStatus status = faceseal_config_new(&config);
    if (status == FACESEAL_STATUS_OK)
        status = faceseal_config_set_tenant(config, "acme", TENANT_PUBLIC_KEY, 32);
    if (status == FACESEAL_STATUS_OK)
        status = faceseal_config_set_template_secret(config, secret, sizeof secret, 1);
    memset(secret, 0, sizeof secret);
    if (status == FACESEAL_STATUS_OK) status = faceseal_engine_new(config, &engine);
    faceseal_config_free(config);
    if (status != FACESEAL_STATUS_OK) {
        fail("engine start", status);
        goto done;
    }
    printf("faceseal %s, models loaded: peak RSS %ld kB\n", faceseal_version(), peak_rss_kb());

    FacesealFrame enrol[2] = {picture(bytes[0], len[0]), picture(bytes[1], len[1])};
    FacesealFrame probe = picture(bytes[2], len[2]);
    if (enrol_and_verify(engine, enrol, &probe, 1) != 0) goto done;
    printf("after 1 enrol/verify: peak RSS %ld kB\n", peak_rss_kb());
    if (repeat > 0) {
        for (long i = 0; i < repeat; i++)
            if (enrol_and_verify(engine, enrol, &probe, 0) != 0) goto done;
        printf("after %ld more enrol/verify: peak RSS %ld kB\n", repeat, peak_rss_kb());
    }
    rc = 0;
done:
    faceseal_engine_free(engine);
    for (int i = 0; i < 3; i++) free(bytes[i]);
    return rc;
}
