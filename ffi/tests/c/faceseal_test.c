/* The C API end to end: capture sessions and one-shot calls on real NUAA
 * webcam bursts (a live burst seals, a print attack is refused with its
 * reasons), and every error path (NULL pointers, bad image bytes, wrong
 * sizes, session misuse from one thread or two, busy, cancellation,
 * deadlines). Built with -Wall -Wextra -Werror -std=c11 and run
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
#include <time.h>

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
    /* A liveness threshold of 0 would accept every print; the core refuses it. */
    CHECK_STATUS(faceseal_config_set_thresholds(config, 0.0f, 0.7), FACESEAL_STATUS_INVALID_ARGUMENT);
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

/* A NUAA burst, chosen as core/tests/common picks one: the frames of one
 * recording (`prefix`) in a split list, in frame-number order, the first
 * `n`, each timed at its frame number x 50 ms. */
typedef struct {
    size_t count;
    File files[16];
    uint64_t timestamps[16];
} Burst;

static int by_timestamp(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    long nx = strtol(strrchr(x, '_') + 1, NULL, 10), ny = strtol(strrchr(y, '_') + 1, NULL, 10);
    return (nx > ny) - (nx < ny);
}

static Burst load_burst(const char *data_dir, const char *list, const char *dir, const char *prefix,
                        size_t skip, size_t n) {
    Burst burst;
    memset(&burst, 0, sizeof burst);
    char path[4096];
    snprintf(path, sizeof path, "%s/nuaa/%s", data_dir, list);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    char line[512];
    char *names[512];
    size_t found = 0;
    while (fgets(line, sizeof line, f) && found < 512) {
        line[strcspn(line, "\r\n")] = 0;
        const char *slash = strchr(line, '/');
        if (slash && strncmp(slash + 1, prefix, strlen(prefix)) == 0) names[found++] = strdup(line);
    }
    fclose(f);
    qsort(names, found, sizeof names[0], by_timestamp);
    if (found < skip + n || n > 16) {
        fprintf(stderr, "%s: %zu frames\n", prefix, found);
        exit(2);
    }
    for (size_t i = 0; i < n; i++) {
        char relative[1024];
        snprintf(relative, sizeof relative, "nuaa/%s/%s", dir, names[skip + i]);
        burst.files[i] = read_file(data_dir, relative);
        burst.timestamps[i] = (uint64_t)strtol(strrchr(names[skip + i], '_') + 1, NULL, 10) * 50;
    }
    burst.count = n;
    for (size_t i = 0; i < found; i++) free(names[i]);
    return burst;
}

static void burst_frames(const Burst *burst, FacesealFrame *frames) {
    for (size_t i = 0; i < burst->count; i++) {
        frames[i] = encoded(&burst->files[i]);
        frames[i].timestamp_ms = burst->timestamps[i];
    }
}

static void free_burst(Burst *burst) {
    for (size_t i = 0; i < burst->count; i++) free(burst->files[i].data);
    burst->count = 0;
}

static const uint8_t CHALLENGE[32] = {0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
                                      0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
                                      0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,
                                      0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab};

static FacesealCaptureConfig capture_config(uint32_t purpose) {
    FacesealCaptureConfig config;
    memset(&config, 0, sizeof config);
    config.purpose = purpose;
    config.level = FACESEAL_SECURITY_LEVEL_STANDARD;
    config.subject_id = "subject-0003";
    config.consent_ref = "consent-2026-0003";
    config.challenge = CHALLENGE;
    config.challenge_len = sizeof CHALLENGE;
    return config;
}

static int zeroed(const uint32_t *words, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (words[i] != 0) return 0;
    return 1;
}

static int has_reason(const FacesealBurstDecision *d, uint32_t reason) {
    for (uint32_t i = 0; i < d->reason_count && i < FACESEAL_MAX_REASONS; i++)
        if (d->reasons[i] == reason) return 1;
    return 0;
}

/* Pushes a burst through a new session and finishes it. */
static FacesealStatus run_session(FacesealEngine *engine, uint32_t purpose, const Burst *burst,
                                  FacesealCaptureResult *result, uint32_t *last_guidance) {
    FacesealCaptureConfig config = capture_config(purpose);
    FacesealCaptureSession *session = NULL;
    CHECK_STATUS(faceseal_capture_new(engine, &config, &session), FACESEAL_STATUS_OK);
    if (!session) return FACESEAL_STATUS_INTERNAL;
    FacesealFrame frames[16];
    burst_frames(burst, frames);
    for (size_t i = 0; i < burst->count; i++) {
        FacesealFrameFeedback feedback;
        memset(&feedback, 0xff, sizeof feedback);
        CHECK_STATUS(faceseal_capture_push_frame(session, &frames[i], NULL, &feedback),
                     FACESEAL_STATUS_OK);
        CHECK(feedback.frames == i + 1);
        CHECK(feedback.frames_needed == 5);
        CHECK(feedback.usable_frames <= feedback.frames);
        CHECK(zeroed(feedback.reserved, 8));
        CHECK(strlen(faceseal_guidance_instruction(feedback.guidance)) > 0);
        printf("  frame %zu: %s (%s)\n", i, faceseal_guidance_name(feedback.guidance),
               faceseal_guidance_instruction(feedback.guidance));
        *last_guidance = feedback.guidance;
    }
    FacesealStatus status = faceseal_capture_finish(session, NULL, result);
    /* Over after a decision, live or not. */
    FacesealFrameFeedback feedback;
    CHECK_STATUS(faceseal_capture_push_frame(session, &frames[0], NULL, &feedback),
                 FACESEAL_STATUS_FINISHED);
    FacesealCaptureResult again;
    CHECK_STATUS(faceseal_capture_finish(session, NULL, &again), FACESEAL_STATUS_FINISHED);
    faceseal_capture_free(session);
    return status;
}

static void test_sessions(FacesealEngine *engine, const char *data_dir) {
    Burst live = load_burst(data_dir, "clientraw_train.txt", "ClientRaw", "0003_01_00_01", 0, 5);
    Burst later = load_burst(data_dir, "clientraw_train.txt", "ClientRaw", "0003_01_00_01", 5, 5);
    Burst print = load_burst(data_dir, "imposterraw_train.txt", "ImposterRaw", "0003_01_00_01", 0, 5);

    printf("session, live burst:\n");
    FacesealCaptureResult result;
    memset(&result, 0, sizeof result);
    uint32_t guidance = 99;
    CHECK_STATUS(run_session(engine, FACESEAL_PURPOSE_ENROL, &live, &result, &guidance),
                 FACESEAL_STATUS_OK);
    CHECK(guidance == FACESEAL_GUIDANCE_DONE);
    CHECK(result.sealed.data != NULL && result.sealed.len > 100 &&
          memcmp(result.sealed.data, "FSSE", 4) == 0);
    CHECK(result.protected_template.data != NULL && result.protected_template.len > 14);
    CHECK(result.decision.live);
    CHECK(result.decision.level == FACESEAL_SECURITY_LEVEL_STANDARD);
    CHECK(result.decision.reason_count == 1 &&
          result.decision.reasons[0] == FACESEAL_REFUSAL_REASON_LIVE);
    CHECK(result.decision.score >= 0.5f && result.decision.scores.passive >= 0.5f);
    CHECK(result.quality_score > 0.0f);
    CHECK(zeroed(result.reserved, 8) && zeroed(result.decision.reserved, 8));
    printf("  sealed %zu bytes, score %.3f, passive %.3f\n", result.sealed.len,
           result.decision.score, result.decision.passive_score);

    /* Kiosk mode: the next frames of the same recording match the template
     * the session made, through the one-shot comparison. */
    FacesealFrame frames[16];
    burst_frames(&later, frames);
    FacesealMatch match;
    memset(&match, 0, sizeof match);
    CHECK_STATUS(faceseal_engine_compare_local(engine, frames, later.count, "subject-0003",
                                               "consent-2", CHALLENGE, 32,
                                               FACESEAL_SECURITY_LEVEL_STANDARD,
                                               result.protected_template.data, result.protected_template.len, NULL,
                                               &match),
                 FACESEAL_STATUS_OK);
    printf("  kiosk comparison: score %.3f threshold %.3f matched %d\n", match.score,
           match.threshold, match.matched);
    CHECK(match.matched && match.liveness_score >= 0.5f);
    /* Another subject's key: no match. */
    CHECK_STATUS(faceseal_engine_compare_local(engine, frames, later.count, "subject-0004",
                                               "consent-2", CHALLENGE, 32, 0, result.protected_template.data,
                                               result.protected_template.len, NULL, &match),
                 FACESEAL_STATUS_OK);
    CHECK(!match.matched);
    faceseal_capture_result_free(&result);
    CHECK(result.sealed.data == NULL && result.protected_template.data == NULL);
    faceseal_capture_result_free(&result); /* twice is harmless */
    faceseal_capture_result_free(NULL);

    printf("session, print attack:\n");
    memset(&result, 0, sizeof result);
    CHECK_STATUS(run_session(engine, FACESEAL_PURPOSE_VERIFY, &print, &result, &guidance),
                 FACESEAL_STATUS_NOT_LIVE);
    CHECK(!result.decision.live);
    CHECK(result.sealed.data == NULL && result.protected_template.data == NULL);
    CHECK(result.decision.reason_count >= 1);
    CHECK(has_reason(&result.decision, FACESEAL_REFUSAL_REASON_PASSIVE));
    CHECK(!has_reason(&result.decision, FACESEAL_REFUSAL_REASON_LIVE));
    CHECK(result.decision.score < 0.5f && result.decision.passive_score < 0.5f);
    for (uint32_t i = 0; i < result.decision.reason_count; i++)
        printf("  refused: %s\n", faceseal_refusal_reason_name(result.decision.reasons[i]));
    printf("  score %.3f, passive %.3f\n", result.decision.score, result.decision.passive_score);
    faceseal_capture_result_free(&result);

    /* One-shot enrolment under the server's challenge, the same decision. */
    FacesealBytes sealed = {NULL, 0}, template_ = {NULL, 0};
    FacesealBurstDecision decision;
    memset(&decision, 0, sizeof decision);
    burst_frames(&live, frames);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, live.count, "subject-0003",
                                        "consent-2026-0003", CHALLENGE, 32,
                                        FACESEAL_SECURITY_LEVEL_STANDARD, NULL, &sealed, &template_,
                                        &decision),
                 FACESEAL_STATUS_OK);
    CHECK(sealed.len > 100 && template_.len > 14 && decision.live);
    FacesealBytes probe = {NULL, 0};
    burst_frames(&later, frames);
    CHECK_STATUS(faceseal_engine_probe(engine, frames, later.count, "subject-0003", "consent-5",
                                       CHALLENGE, 32, 0, NULL, &probe, NULL),
                 FACESEAL_STATUS_OK);
    CHECK(probe.len > 100);
    CHECK_STATUS(faceseal_engine_probe(engine, frames, later.count, "subject-0003", "consent-5",
                                       CHALLENGE, 31, 0, NULL, &probe, NULL),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    faceseal_bytes_free(&probe);
    /* One frame is no burst. */
    FacesealBytes untouched = {NULL, 0};
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 1, "subject-0003", "c", CHALLENGE, 32, 0,
                                        NULL, &untouched, NULL, NULL),
                 FACESEAL_STATUS_NOT_ENOUGH_FRAMES);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "subject-0003", "c", CHALLENGE, 32, 7,
                                        NULL, &untouched, NULL, NULL),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "subject-0003", "c", NULL, 0, 0, NULL,
                                        &untouched, NULL, NULL),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    /* A print attack, one-shot: refused with the decision's reasons. */
    burst_frames(&print, frames);
    memset(&decision, 0, sizeof decision);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, print.count, "subject-0003", "c", CHALLENGE,
                                        32, 0, NULL, &untouched, NULL, &decision),
                 FACESEAL_STATUS_NOT_LIVE);
    CHECK(!decision.live && has_reason(&decision, FACESEAL_REFUSAL_REASON_PASSIVE));
    CHECK(untouched.data == NULL);
    faceseal_bytes_free(&sealed);
    faceseal_bytes_free(&template_);

    free_burst(&live);
    free_burst(&later);
    free_burst(&print);
}

/* Two threads pushing into one session at once. */
typedef struct {
    const FacesealCaptureSession *session;
    FacesealFrame frame;
    FacesealStatus status;
} Pusher;

static void *push(void *arg) {
    Pusher *p = arg;
    FacesealFrameFeedback feedback;
    p->status = faceseal_capture_push_frame(p->session, &p->frame, NULL, &feedback);
    return NULL;
}

static void test_session_misuse(FacesealEngine *engine, const char *data_dir) {
    Burst live = load_burst(data_dir, "clientraw_train.txt", "ClientRaw", "0003_01_00_01", 0, 2);
    File small = read_file(data_dir, "lfw/images/Tony_Blair/Tony_Blair_0018.jpg");
    FacesealFrame frames[16];
    burst_frames(&live, frames);
    FacesealCaptureConfig config = capture_config(FACESEAL_PURPOSE_ENROL);
    FacesealCaptureSession *session = NULL;
    FacesealFrameFeedback feedback;
    FacesealCaptureResult result;
    memset(&result, 0, sizeof result);

    /* NULL pointers and bad terms. */
    CHECK_STATUS(faceseal_capture_new(NULL, &config, &session), FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_capture_new(engine, NULL, &session), FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_capture_new(engine, &config, NULL), FACESEAL_STATUS_NULL_POINTER);
    CHECK(session == NULL);
    FacesealCaptureConfig bad = config;
    bad.purpose = 0;
    CHECK_STATUS(faceseal_capture_new(engine, &bad, &session), FACESEAL_STATUS_INVALID_ARGUMENT);
    bad = config;
    bad.level = 9;
    CHECK_STATUS(faceseal_capture_new(engine, &bad, &session), FACESEAL_STATUS_INVALID_ARGUMENT);
    bad = config;
    bad.challenge_len = 31;
    CHECK_STATUS(faceseal_capture_new(engine, &bad, &session), FACESEAL_STATUS_INVALID_ARGUMENT);
    bad = config;
    bad.consent_ref = NULL;
    CHECK_STATUS(faceseal_capture_new(engine, &bad, &session), FACESEAL_STATUS_NULL_POINTER);
    bad = config;
    bad.consent_ref = " ";
    CHECK_STATUS(faceseal_capture_new(engine, &bad, &session), FACESEAL_STATUS_CONSENT);
    bad = config;
    bad.burst_frames = 1;
    CHECK_STATUS(faceseal_capture_new(engine, &bad, &session), FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK(session == NULL);
    CHECK_STATUS(faceseal_capture_push_frame(NULL, &frames[0], NULL, &feedback),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_capture_finish(NULL, NULL, &result), FACESEAL_STATUS_NULL_POINTER);
    faceseal_capture_free(NULL);

    /* Finish with no frame, then with too few; frames out of order; a
     * frame of another size mid-burst. */
    CHECK_STATUS(faceseal_capture_new(engine, &config, &session), FACESEAL_STATUS_OK);
    CHECK_STATUS(faceseal_capture_push_frame(session, NULL, NULL, &feedback),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_capture_push_frame(session, &frames[0], NULL, NULL),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_capture_finish(session, NULL, NULL), FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_capture_finish(session, NULL, &result), FACESEAL_STATUS_NOT_ENOUGH_FRAMES);
    CHECK_STATUS(faceseal_capture_push_frame(session, &frames[1], NULL, &feedback),
                 FACESEAL_STATUS_OK);
    CHECK_STATUS(faceseal_capture_push_frame(session, &frames[0], NULL, &feedback),
                 FACESEAL_STATUS_FRAME_OUT_OF_ORDER);
    CHECK_STATUS(faceseal_capture_push_frame(session, &frames[1], NULL, &feedback),
                 FACESEAL_STATUS_FRAME_OUT_OF_ORDER);
    FacesealFrame other_size = encoded(&small);
    other_size.timestamp_ms = frames[1].timestamp_ms + 50;
    CHECK_STATUS(faceseal_capture_push_frame(session, &other_size, NULL, &feedback),
                 FACESEAL_STATUS_FRAME_SIZE_CHANGED);
    CHECK_STATUS(faceseal_capture_finish(session, NULL, &result), FACESEAL_STATUS_NOT_ENOUGH_FRAMES);
    CHECK(result.sealed.data == NULL);
    /* Failures that are the caller's to fix leave the session usable. */
    FacesealFrame next = frames[1];
    next.timestamp_ms += 100;
    CHECK_STATUS(faceseal_capture_push_frame(session, &next, NULL, &feedback), FACESEAL_STATUS_OK);
    CHECK(feedback.frames == 2);
    faceseal_capture_free(session);
    session = NULL;

    /* After expiry. */
    FacesealCaptureConfig hurried = config;
    hurried.expiry_ms = 1;
    CHECK_STATUS(faceseal_capture_new(engine, &hurried, &session), FACESEAL_STATUS_OK);
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    CHECK_STATUS(faceseal_capture_push_frame(session, &frames[0], NULL, &feedback),
                 FACESEAL_STATUS_EXPIRED);
    CHECK_STATUS(faceseal_capture_finish(session, NULL, &result), FACESEAL_STATUS_FINISHED);
    faceseal_capture_free(session);
    session = NULL;

    /* Two threads at once: one of them is told the session is in use. */
    int in_use = 0, ok = 0, other = 0;
    for (int round = 0; round < 10 && in_use == 0; round++) {
        CHECK_STATUS(faceseal_capture_new(engine, &config, &session), FACESEAL_STATUS_OK);
        Pusher pushers[2];
        pthread_t threads[2];
        for (int i = 0; i < 2; i++) {
            pushers[i].session = session;
            pushers[i].frame = frames[0];
            pushers[i].frame.timestamp_ms = 1000 + (uint64_t)i;
            pushers[i].status = FACESEAL_STATUS_INTERNAL;
            pthread_create(&threads[i], NULL, push, &pushers[i]);
        }
        for (int i = 0; i < 2; i++) {
            pthread_join(threads[i], NULL);
            if (pushers[i].status == FACESEAL_STATUS_IN_USE) in_use++;
            else if (pushers[i].status == FACESEAL_STATUS_OK) ok++;
            /* The later thread may come second, after the first finished. */
            else if (pushers[i].status != FACESEAL_STATUS_FRAME_OUT_OF_ORDER) other++;
        }
        faceseal_capture_free(session);
        session = NULL;
    }
    printf("two threads on one session: %d ok, %d in use, %d other\n", ok, in_use, other);
    CHECK(in_use > 0 && ok > 0 && other == 0);

    free_burst(&live);
    free(small.data);
}

static void test_enrol_and_verify(FacesealEngine *engine, const char *data_dir) {
    File enrol_a = read_file(data_dir, "lfw/images/Tony_Blair/Tony_Blair_0018.jpg");
    File enrol_b = read_file(data_dir, "lfw/images/Tony_Blair/Tony_Blair_0064.jpg");
    FacesealFrame frames[2] = {encoded(&enrol_a), encoded(&enrol_b)};
    frames[1].timestamp_ms = 50;

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

    /* Error paths of a capture. */
    const uint8_t *ch = CHALLENGE;
    FacesealBytes untouched = {NULL, 0};
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "subject-0042", NULL, ch, 32, 0, NULL,
                                        &untouched, NULL, NULL),
                 FACESEAL_STATUS_CONSENT);
    CHECK(untouched.data == NULL);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "subject-0042", "  ", ch, 32, 0, NULL,
                                        &untouched, NULL, NULL),
                 FACESEAL_STATUS_CONSENT);
    CHECK_STATUS(faceseal_engine_enroll(NULL, frames, 2, "s", "c", ch, 32, 0, NULL, &untouched,
                                        NULL, NULL),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_engine_enroll(engine, NULL, 2, "s", "c", ch, 32, 0, NULL, &untouched,
                                        NULL, NULL),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, NULL, "c", ch, 32, 0, NULL, &untouched,
                                        NULL, NULL),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "s", "c", ch, 32, 0, NULL, NULL, NULL,
                                        NULL),
                 FACESEAL_STATUS_NULL_POINTER);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 0, "s", "c", ch, 32, 0, NULL, &untouched,
                                        NULL, NULL),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 9, "s", "c", ch, 32, 0, NULL, &untouched,
                                        NULL, NULL),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "\xc3\x28", "c", ch, 32, 0, NULL,
                                        &untouched, NULL, NULL),
                 FACESEAL_STATUS_INVALID_UTF8);
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "", "c", ch, 32, 0, NULL, &untouched,
                                        NULL, NULL),
                 FACESEAL_STATUS_INVALID_ARGUMENT);
    CHECK(untouched.data == NULL);

    /* Bad image bytes, in any frame, fail the whole capture. */
    uint8_t garbage[256];
    for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (uint8_t)(i * 37u + 11u);
    FacesealFrame bad[2] = {frames[0], frames[1]};
    bad[1].data = garbage;
    bad[1].len = sizeof garbage;
    CHECK_STATUS(faceseal_engine_enroll(engine, bad, 2, "s", "c", ch, 32, 0, NULL, &untouched,
                                        NULL, NULL),
                 FACESEAL_STATUS_INVALID_IMAGE);
    bad[1].len = 0;
    CHECK_STATUS(faceseal_engine_enroll(engine, bad, 2, "s", "c", ch, 32, 0, NULL, &untouched,
                                        NULL, NULL),
                 FACESEAL_STATUS_INVALID_IMAGE);
    bad[1].data = NULL;
    bad[1].len = 10;
    CHECK_STATUS(faceseal_engine_enroll(engine, bad, 2, "s", "c", ch, 32, 0, NULL, &untouched,
                                        NULL, NULL),
                 FACESEAL_STATUS_NULL_POINTER);
    /* A truncated JPEG. */
    bad[1] = frames[1];
    bad[1].len = enrol_b.len / 2;
    CHECK_STATUS(faceseal_engine_enroll(engine, bad, 2, "s", "c", ch, 32, 0, NULL, &untouched,
                                        NULL, NULL),
                 FACESEAL_STATUS_INVALID_IMAGE);
    /* Frames out of order. */
    bad[1] = frames[1];
    bad[1].timestamp_ms = 0;
    CHECK_STATUS(faceseal_engine_enroll(engine, bad, 2, "s", "c", ch, 32, 0, NULL, &untouched,
                                        NULL, NULL),
                 FACESEAL_STATUS_FRAME_OUT_OF_ORDER);
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
    /* A burst of faceless frames: refused by the liveness layer, with reasons. */
    FacesealFrame blank[2] = {raw, raw};
    blank[1].timestamp_ms = 50;
    FacesealBurstDecision decision;
    memset(&decision, 0, sizeof decision);
    CHECK_STATUS(faceseal_engine_enroll(engine, blank, 2, "s", "c", ch, 32, 0, NULL, &untouched,
                                        NULL, &decision),
                 FACESEAL_STATUS_NOT_LIVE);
    CHECK(!decision.live && has_reason(&decision, FACESEAL_REFUSAL_REASON_TEMPORAL_FACE_MISSING));
    free(grey);

    /* Templates: garbage, truncated, or none. */
    CHECK_STATUS(faceseal_engine_compare_local(engine, frames, 2, "subject-0042", "c", ch, 32, 0,
                                               garbage, sizeof garbage, NULL, NULL),
                 FACESEAL_STATUS_NULL_POINTER);
    FacesealMatch match;
    CHECK_STATUS(faceseal_engine_compare_local(engine, frames, 2, "subject-0042", "c", ch, 32, 0,
                                               garbage, sizeof garbage, NULL, &match),
                 FACESEAL_STATUS_INVALID_TEMPLATE);
    CHECK_STATUS(faceseal_engine_compare_local(engine, frames, 2, "subject-0042", "c", ch, 32, 0,
                                               NULL, 0, NULL, &match),
                 FACESEAL_STATUS_INVALID_TEMPLATE);

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
    CHECK_STATUS(faceseal_engine_enroll(engine, frames, 2, "s", "c", ch, 32, 0, &hurried,
                                        &untouched, NULL, NULL),
                 FACESEAL_STATUS_TIMEOUT);
    CHECK(untouched.data == NULL);

    free(enrol_a.data);
    free(enrol_b.data);
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
        test_sessions(engine, data_dir);
        test_session_misuse(engine, data_dir);
        faceseal_engine_free(engine);
    }
    test_busy(model_dir, data_dir);

    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures == 0 ? 0 : 1;
}
