/* The C API end to end: enrolment and verification on real pictures, and
 * every error path (NULL pointers, bad image bytes, wrong sizes, busy,
 * cancellation, deadlines). Built with -Wall -Wextra -Werror -std=c11 and run
 * under valgrind against both libfaceseal.so and libfaceseal.a.
 *
 * usage: faceseal_test MODEL_DIR DATA_DIR
 * (MODEL_DIR holds the project's bundled models; the liveness models are
 * found through FACESEAL_MODEL_DIR, which a new configuration reads.) */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faceseal.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                            \
    do {                                                                       \
        checks++;                                                              \
        if (!(cond)) {                                                         \
            failures++;                                                        \
            fprintf(stderr, "%s:%d: check failed: %s (last error: %s)\n",     \
                    __FILE__, __LINE__, #cond, faceseal_last_error_message()); \
        }                                                                      \
    } while (0)

#define CHECK_STATUS(call, expected) CHECK((call) == (expected))

/* RFC 7748 section 6.1: Alice's public key, a valid X25519 point. */
static const uint8_t TENANT_PUBLIC_KEY[32] = {
    0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d,
    0xdc, 0xb4, 0x3e, 0xf7, 0x5a, 0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38,
    0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a};

typedef struct {
    uint8_t *data;
    size_t len;
} File;

static File read_file(const char *dir, const char *relative) {
    char path[4096];
    File file = {NULL, 0};
    snprintf(path, sizeof path, "%s/%s", dir, relative);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    file.data = malloc((size_t)size);
    file.len = fread(file.data, 1, (size_t)size, f);
    fclose(f);
    return file;
}

static FacesealFrame encoded(const File *file) {
    FacesealFrame frame;
    memset(&frame, 0, sizeof frame);
    frame.data = file->data;
    frame.len = file->len;
    frame.format = FACESEAL_PIXEL_FORMAT_ENCODED;
    return frame;
}

static FacesealConfig *base_config(const char *model_dir) {
    FacesealConfig *config = NULL;
    static const uint8_t secret[32] = {0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
                                       0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
                                       0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a,
                                       0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a, 0x5a};
    CHECK_STATUS(faceseal_config_new(&config), FACESEAL_STATUS_OK);
    CHECK_STATUS(faceseal_config_add_model_dir(config, model_dir), FACESEAL_STATUS_OK);
    CHECK_STATUS(faceseal_config_set_tenant(config, "acme", TENANT_PUBLIC_KEY, 32),
                 FACESEAL_STATUS_OK);
    CHECK_STATUS(faceseal_config_set_template_secret(config, secret, sizeof secret, 1),
                 FACESEAL_STATUS_OK);
    /* Generous: under valgrind a model runs a hundred times slower. */
    CHECK_STATUS(faceseal_config_set_default_timeout_ms(config, 600000), FACESEAL_STATUS_OK);
    return config;
}

static void test_versions(void) {
    CHECK(faceseal_abi_version() == FACESEAL_ABI_VERSION);
    CHECK(strlen(faceseal_version()) > 0);
    CHECK(strcmp(faceseal_last_error_message(), "") == 0);
}

static void test_null_pointers_and_config_errors(const char *model_dir) {
    FacesealConfig *config = NULL;
    FacesealEngine *engine = NULL;
    CHECK_STATUS(faceseal_config_new(NULL), FACESEAL_STATUS_NULL_POINTER);
    CHECK(strstr(faceseal_last_error_message(), "out_config") != NULL);
    CHECK_STATUS(faceseal_engine_new(NULL, &engine), FACESEAL_STATUS_NULL_POINTER);
    CHECK(engine == NULL);
    CHECK_STATUS(faceseal_config_add_model_dir(NULL, model_dir), FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_config_set_queue(NULL, 1, 1), FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_cancel_token_new(NULL), FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_cancel_token_cancel(NULL), FACESEAL_STATUS_NULL_POINTER);
    faceseal_config_free(NULL);
    faceseal_engine_free(NULL);
    faceseal_cancel_token_free(NULL);
    faceseal_bytes_free(NULL);

    CHECK_STATUS(faceseal_config_new(&config), FACESEAL_STATUS_OK);
    CHECK_STATUS(faceseal_config_add_model_dir(config, NULL), FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_engine_new(config, NULL), FACESEAL_STATUS_NULL_POINTER);
    /* Wrong sizes and ranges. */
    static const uint8_t short_secret[16] = {0};
    CHECK_STATUS(faceseal_config_set_template_secret(config, short_secret, sizeof short_secret, 1),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(faceseal_config_set_template_secret(config, NULL, 32, 1),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_config_set_tenant(config, "acme", TENANT_PUBLIC_KEY, 31),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(faceseal_config_set_tenant(config, NULL, TENANT_PUBLIC_KEY, 32),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_config_set_tenant(config, "\xff\xfe", TENANT_PUBLIC_KEY, 32),
                 FACESEAL_STATUS_INVALID_UTF8);
    CHECK_STATUS(faceseal_config_set_queue(config, 0, 4), FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(faceseal_config_set_default_timeout_ms(config, 0),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(faceseal_config_set_thresholds(config, 1.5f, 0.7), FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(faceseal_config_set_thresholds(config, 0.5f, -0.1), FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(faceseal_config_set_model_bytes(config, 99, short_secret, 16),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    /* Model bytes that are not the pinned model: refused when the engine loads. */
    CHECK_STATUS(faceseal_config_set_model_bytes(config, FACESEAL_MODEL_KIND_DETECTOR, short_secret,
                                                 sizeof short_secret),
                 FACESEAL_STATUS_OK);
    CHECK_STATUS(faceseal_engine_new(config, &engine), FACESEAL_STATUS_MODEL);
    CHECK(engine == NULL);
    CHECK(strlen(faceseal_last_error_message()) > 0);
    faceseal_config_free(config);
}

static void test_enrol_and_verify(FacesealEngine *engine, const char *data_dir) {
    File enrol_a = read_file(data_dir, "lfw/images/Tony_Blair/Tony_Blair_0018.jpg");
    File enrol_b = read_file(data_dir, "lfw/images/Tony_Blair/Tony_Blair_0064.jpg");
    File same = read_file(data_dir, "lfw/images/Tony_Blair/Tony_Blair_0032.jpg");
    File other = read_file(data_dir, "lfw/images/Abdullah_Gul/Abdullah_Gul_0001.jpg");
    FacesealFrame frames[2] = {encoded(&enrol_a), encoded(&enrol_b)};

    /* Detection: the count, with and without room for the faces. */
    FacesealFace faces[4];
    size_t count = 0;
    CHECK_STATUS(faceseal_engine_detect(engine, &frames[0], NULL, NULL, 0, &count),
                 FACESEAL_STATUS_OK);
    CHECK(count >= 1);
    CHECK_STATUS(faceseal_engine_detect(engine, &frames[0], NULL, faces, 4, &count),
                 FACESEAL_STATUS_OK);
    CHECK(count >= 1 && faces[0].score > 0.9f && faces[0].x2 > faces[0].x1);
    CHECK_STATUS(faceseal_engine_detect(engine, &frames[0], NULL, NULL, 4, &count),
                 FACESEAL_STATUS_NULL_POINTER);

    FacesealLiveness liveness;
    memset(&liveness, 0, sizeof liveness);
    CHECK_STATUS(faceseal_engine_check_liveness(engine, &frames[0], NULL, &liveness),
                 FACESEAL_STATUS_OK);
    CHECK(liveness.live && liveness.score >= liveness.threshold);

    FacesealBytes sealed = {NULL, 0};
    FacesealBytes template_ = {NULL, 0};
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "subject-0042", "consent-2024-0042", NULL,
                                        &sealed, &template_),
                 FACESEAL_STATUS_OK);
    CHECK(sealed.data != NULL && sealed.len > 100);
    CHECK(template_.data != NULL && template_.len > 14);
    CHECK(sealed.data != NULL && memcmp(sealed.data, "FSSE", 4) == 0);

    FacesealMatch match;
    memset(&match, 0, sizeof match);
    FacesealFrame probe_same = encoded(&same);
    FacesealFrame probe_other = encoded(&other);
    CHECK_STATUS(faceseal_engine_compare_local(engine, &probe_same, 1, "subject-0042", "consent-2",
                                               template_.data, template_.len, NULL, &match),
                 FACESEAL_STATUS_OK);
    printf("same person:    score %.3f threshold %.3f matched %d\n", match.score, match.threshold,
           match.matched);
    CHECK(match.matched);
    double same_score = match.score;
    CHECK_STATUS(faceseal_engine_compare_local(engine, &probe_other, 1, "subject-0042", "consent-3",
                                               template_.data, template_.len, NULL, &match),
                 FACESEAL_STATUS_OK);
    printf("another person: score %.3f threshold %.3f matched %d\n", match.score, match.threshold,
           match.matched);
    CHECK(!match.matched && match.score < same_score);
    /* The subject's key decides the template: another subject id does not match. */
    CHECK_STATUS(faceseal_engine_compare_local(engine, &probe_same, 1, "subject-0043", "consent-4",
                                               template_.data, template_.len, NULL, &match),
                 FACESEAL_STATUS_OK);
    CHECK(!match.matched);

    /* A probe for the server, sealed with its challenge. */
    uint8_t challenge[32];
    memset(challenge, 0xab, sizeof challenge);
    FacesealBytes probe = {NULL, 0};
    CHECK_STATUS(faceseal_engine_probe(engine, &probe_same, 1, "subject-0042", "consent-5", challenge,
                                       32, NULL, &probe),
                 FACESEAL_STATUS_OK);
    CHECK(probe.len > 100);
    CHECK_STATUS(faceseal_engine_probe(engine, &probe_same, 1, "subject-0042", "consent-5", challenge,
                                       31, NULL, &probe),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    faceseal_bytes_free(&probe);
    CHECK(probe.data == NULL && probe.len == 0);

    /* Error paths of a capture. */
    FacesealBytes untouched = {NULL, 0};
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "subject-0042", NULL, NULL, &untouched,
                                        NULL),
                 FACESEAL_STATUS_CONSENT);
    CHECK(untouched.data == NULL);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "subject-0042", "  ", NULL, &untouched,
                                        NULL),
                 FACESEAL_STATUS_CONSENT);
    CHECK_STATUS(faceseal_engine_enroll(NULL, frames, 2, "s", "c", NULL, &untouched, NULL),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_engine_enroll(engine, NULL, 2, "s", "c", NULL, &untouched, NULL),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, NULL, "c", NULL, &untouched, NULL),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "s", "c", NULL, NULL, NULL),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 0, "s", "c", NULL, &untouched, NULL),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 9, "s", "c", NULL, &untouched, NULL),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "\xc3\x28", "c", NULL, &untouched, NULL),
                 FACESEAL_STATUS_INVALID_UTF8);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "", "c", NULL, &untouched, NULL),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK(untouched.data == NULL);

    /* Bad image bytes, in any frame, fail the whole capture. */
    uint8_t garbage[256];
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (uint8_t)(i * 37u + 11u);
    FacesealFrame bad[2] = {encoded(&enrol_a), encoded(&enrol_b)};
    bad[1].data = garbage;
    bad[1].len = sizeof garbage;
    CHECK_STATUS(faceseal_engine_enroll(engine, bad, 2, "s", "c", NULL, &untouched, NULL),
                 FACESEAL_STATUS_INVALID_IMAGE);
    bad[1].len = 0;
    CHECK_STATUS(faceseal_engine_enroll(engine, bad, 2, "s", "c", NULL, &untouched, NULL),
                 FACESEAL_STATUS_INVALID_IMAGE);
    bad[1].data = NULL;
    bad[1].len = 10;
    CHECK_STATUS(faceseal_engine_enroll(engine, bad, 2, "s", "c", NULL, &untouched, NULL),
                 FACESEAL_STATUS_NULL_POINTER);
    /* A truncated JPEG. */
    bad[1] = encoded(&enrol_b);
    bad[1].len = enrol_b.len / 2;
    CHECK_STATUS(faceseal_engine_enroll(engine, bad, 2, "s", "c", NULL, &untouched, NULL),
                 FACESEAL_STATUS_INVALID_IMAGE);
    CHECK(untouched.data == NULL);

    /* Raw frames: wrong buffer length, short stride, unknown format, odd rotation. */
    size_t raw_len = 96 * 96 * 3;
    uint8_t *grey = malloc(raw_len);
    memset(grey, 128, raw_len);
    FacesealFrame raw;
    memset(&raw, 0, sizeof raw);
    raw.data = grey;
    raw.len = raw_len - 1;
    raw.format = FACESEAL_PIXEL_FORMAT_RGB;
    raw.width = 96;
    raw.height = 96;
    raw.stride = 96 * 3;
    CHECK_STATUS(faceseal_engine_detect(engine, &raw, NULL, faces, 4, &count),
                 FACESEAL_STATUS_INVALID_IMAGE);
    raw.len = raw_len;
    raw.stride = 96;
    CHECK_STATUS(faceseal_engine_detect(engine, &raw, NULL, faces, 4, &count),
                 FACESEAL_STATUS_INVALID_IMAGE);
    raw.stride = 96 * 3;
    raw.format = 42;
    CHECK_STATUS(faceseal_engine_detect(engine, &raw, NULL, faces, 4, &count),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    raw.format = FACESEAL_PIXEL_FORMAT_RGB;
    raw.rotation_degrees = 45;
    CHECK_STATUS(faceseal_engine_detect(engine, &raw, NULL, faces, 4, &count),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    raw.rotation_degrees = 90;
    count = 99;
    CHECK_STATUS(faceseal_engine_detect(engine, &raw, NULL, faces, 4, &count), FACESEAL_STATUS_OK);
    CHECK(count == 0);
    CHECK_STATUS(faceseal_engine_check_liveness(engine, &raw, NULL, &liveness),
                 FACESEAL_STATUS_NO_FACE);
    CHECK_STATUS(faceseal_engine_enroll(engine, &raw, 1, "s", "c", NULL, &untouched, NULL),
                 FACESEAL_STATUS_NO_FACE);
    free(grey);

    /* Templates: garbage, truncated, or another key version. */
    CHECK_STATUS(faceseal_engine_compare_local(engine, &probe_same, 1, "subject-0042", "c", garbage,
                                               sizeof garbage, NULL, &match),
                 FACESEAL_STATUS_INVALID_TEMPLATE);
    CHECK_STATUS(faceseal_engine_compare_local(engine, &probe_same, 1, "subject-0042", "c",
                                               template_.data, template_.len - 1, NULL, &match),
                 FACESEAL_STATUS_INVALID_TEMPLATE);
    CHECK_STATUS(faceseal_engine_compare_local(engine, &probe_same, 1, "subject-0042", "c", NULL, 0,
                                               NULL, &match),
                 FACESEAL_STATUS_INVALID_TEMPLATE);
    CHECK_STATUS(faceseal_engine_compare_local(engine, &probe_same, 1, "subject-0042", "c",
                                               template_.data, template_.len, NULL, NULL),
                 FACESEAL_STATUS_NULL_POINTER);

    /* Cancellation and deadlines. */
    FacesealCancelToken *token = NULL;
    CHECK_STATUS(faceseal_cancel_token_new(&token), FACESEAL_STATUS_OK);
    FacesealRequest request = {0, token};
    CHECK_STATUS(faceseal_engine_detect(engine, &frames[0], &request, faces, 4, &count),
                 FACESEAL_STATUS_OK);
    CHECK_STATUS(faceseal_cancel_token_cancel(token), FACESEAL_STATUS_OK);
    CHECK_STATUS(faceseal_engine_detect(engine, &frames[0], &request, faces, 4, &count),
                 FACESEAL_STATUS_CANCELLED);
    faceseal_cancel_token_free(token);
    FacesealRequest hurried = {1, NULL};
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "s", "c", &hurried, &untouched, NULL),
                 FACESEAL_STATUS_TIMEOUT);
    CHECK(untouched.data == NULL);

    faceseal_bytes_free(&sealed);
    faceseal_bytes_free(&template_);
    faceseal_bytes_free(&template_); /* a second free of an emptied buffer is harmless */
    free(enrol_a.data);
    free(enrol_b.data);
    free(same.data);
    free(other.data);
}

/* Busy: one worker, one place in the queue, eight callers at once. */
typedef struct {
    FacesealEngine *engine;
    const FacesealFrame *frame;
    FacesealStatus status;
} Caller;

static void *call_detect(void *arg) {
    Caller *caller = arg;
    FacesealFace face;
    size_t count = 0;
    caller->status = faceseal_engine_detect(caller->engine, caller->frame, NULL, &face, 1, &count);
    return NULL;
}

static void test_busy(const char *model_dir, const char *data_dir) {
    FacesealConfig *config = base_config(model_dir);
    FacesealEngine *engine = NULL;
    CHECK_STATUS(faceseal_config_set_queue(config, 1, 1), FACESEAL_STATUS_OK);
    CHECK_STATUS(faceseal_engine_new(config, &engine), FACESEAL_STATUS_OK);
    faceseal_config_free(config);
    File picture = read_file(data_dir, "lfw/images/Tony_Blair/Tony_Blair_0018.jpg");
    FacesealFrame frame = encoded(&picture);
    enum { CALLERS = 8 };
    int busy = 0, ok = 0, other = 0;
    for (int round = 0; round < 5 && busy == 0; round++) {
        pthread_t threads[CALLERS];
        Caller callers[CALLERS];
        for (int i = 0; i < CALLERS; i++) {
            callers[i].engine = engine;
            callers[i].frame = &frame;
            callers[i].status = FACESEAL_STATUS_INTERNAL;
            pthread_create(&threads[i], NULL, call_detect, &callers[i]);
        }
        for (int i = 0; i < CALLERS; i++) {
            pthread_join(threads[i], NULL);
            if (callers[i].status == FACESEAL_STATUS_BUSY) busy++;
            else if (callers[i].status == FACESEAL_STATUS_OK) ok++;
            else other++;
        }
    }
    printf("busy test: %d ok, %d busy, %d other\n", ok, busy, other);
    CHECK(busy > 0);
    CHECK(ok > 0);
    CHECK(other == 0);
    faceseal_engine_free(engine);
    free(picture.data);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL_DIR DATA_DIR\n", argv[0]);
        return 2;
    }
    const char *model_dir = argv[1];
    const char *data_dir = argv[2];
    test_versions();
    test_null_pointers_and_config_errors(model_dir);

    FacesealConfig *config = base_config(model_dir);
    FacesealEngine *engine = NULL;
    CHECK_STATUS(faceseal_engine_new(config, &engine), FACESEAL_STATUS_OK);
    faceseal_config_free(config);
    if (engine) {
        test_enrol_and_verify(engine, data_dir);
        faceseal_engine_free(engine);
    }
    test_busy(model_dir, data_dir);

    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
