/* The device program of the end-to-end suite, written from include/faceseal.h
 * alone: one capture session over the given frames, reported as JSON lines.
 *
 *   device enrol|verify --models DIR[:DIR...] --tenant-id ID --public-key HEX64
 *          --template-secret HEX64 --m M --q Q --key-version N
 *          --level basic|standard|strict --nonce HEX64 --subject ID --consent REF
 *          [--fps 20] [--expiry-ms 10000] FRAME.jpg...
 *
 * The tenant's values come from its bundle, the nonce from POST /v1/challenges
 * (the backend's part). Frame i is timed i * 1000 / fps ms. Prints, per frame,
 *   {"frame":I,"guidance":"hold_still","frames":N,"usable":U,"needed":K}
 * then one of
 *   {"result":"sealed","envelope":"<base64>"}                          exit 0
 *   {"result":"refused","code":"not_live","reasons":[...],"score":S}   exit 1
 *   {"result":"error","code":"<status>","message":"..."}               exit 4
 * and exits 2 on bad arguments. */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faceseal.h"

#define MAX_FRAMES 60

static void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static int error(FacesealStatus status) {
    printf("{\"result\":\"error\",\"code\":");
    json_string(faceseal_status_name((uint32_t)status));
    printf(",\"message\":");
    json_string(faceseal_last_error_message());
    printf("}\n");
    return 4;
}

static int usage(const char *message) {
    fprintf(stderr, "device: %s\n", message);
    fprintf(stderr,
            "usage: device enrol|verify --models DIR[:DIR...] --tenant-id ID --public-key HEX64\n"
            "       --template-secret HEX64 --m M --q Q --key-version N\n"
            "       --level basic|standard|strict --nonce HEX64 --subject ID --consent REF\n"
            "       [--fps 20] [--expiry-ms 10000] FRAME.jpg...\n");
    return 2;
}

static int hex32(const char *hex, uint8_t out[32]) {
    if (!hex || strlen(hex) != 64) return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return -1;
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int number(const char *text, unsigned long max, unsigned long *out) {
    char *end = NULL;
    if (!text || !*text) return -1;
    unsigned long v = strtoul(text, &end, 10);
    if (*end != 0 || v > max) return -1;
    *out = v;
    return 0;
}

static void print_base64(const uint8_t *data, size_t len) {
    static const char digits[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len) v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len) v |= data[i + 2];
        putchar(digits[(v >> 18) & 63]);
        putchar(digits[(v >> 12) & 63]);
        putchar(i + 1 < len ? digits[(v >> 6) & 63] : '=');
        putchar(i + 2 < len ? digits[v & 63] : '=');
    }
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

typedef struct {
    uint32_t purpose;
    char *models;
    const char *tenant_id, *subject, *consent;
    uint8_t public_key[32], secret[32], nonce[32];
    unsigned long m, q, key_version, fps, expiry_ms;
    uint32_t level;
    int have;
    const char *frames[MAX_FRAMES];
    size_t frame_count;
} Args;

enum {
    HAVE_MODELS = 1 << 0, HAVE_TENANT = 1 << 1, HAVE_KEY = 1 << 2, HAVE_SECRET = 1 << 3,
    HAVE_M = 1 << 4, HAVE_Q = 1 << 5, HAVE_VERSION = 1 << 6, HAVE_LEVEL = 1 << 7,
    HAVE_NONCE = 1 << 8, HAVE_SUBJECT = 1 << 9, HAVE_CONSENT = 1 << 10, HAVE_ALL = (1 << 11) - 1
};

/* Reads the arguments; a message on failure. */
static const char *parse(int argc, char **argv, Args *a) {
    memset(a, 0, sizeof *a);
    a->fps = 20;
    a->expiry_ms = 10000;
    if (argc < 2) return "missing enrol|verify";
    if (strcmp(argv[1], "enrol") == 0) a->purpose = FACESEAL_PURPOSE_ENROL;
    else if (strcmp(argv[1], "verify") == 0) a->purpose = FACESEAL_PURPOSE_VERIFY;
    else return "the first argument is enrol or verify";
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strncmp(arg, "--", 2) != 0) {
            if (a->frame_count == MAX_FRAMES) return "too many frames";
            a->frames[a->frame_count++] = arg;
            continue;
        }
        if (i + 1 >= argc) return "an option lacks its value";
        const char *v = argv[++i];
        if (strcmp(arg, "--models") == 0) a->models = (char *)v, a->have |= HAVE_MODELS;
        else if (strcmp(arg, "--tenant-id") == 0) a->tenant_id = v, a->have |= HAVE_TENANT;
        else if (strcmp(arg, "--subject") == 0) a->subject = v, a->have |= HAVE_SUBJECT;
        else if (strcmp(arg, "--consent") == 0) a->consent = v, a->have |= HAVE_CONSENT;
        else if (strcmp(arg, "--public-key") == 0) {
            if (hex32(v, a->public_key) != 0) return "--public-key takes 64 hex digits";
            a->have |= HAVE_KEY;
        } else if (strcmp(arg, "--template-secret") == 0) {
            if (hex32(v, a->secret) != 0) return "--template-secret takes 64 hex digits";
            a->have |= HAVE_SECRET;
        } else if (strcmp(arg, "--nonce") == 0) {
            if (hex32(v, a->nonce) != 0) return "--nonce takes 64 hex digits";
            a->have |= HAVE_NONCE;
        } else if (strcmp(arg, "--m") == 0) {
            if (number(v, 65535, &a->m) != 0) return "--m takes a number";
            a->have |= HAVE_M;
        } else if (strcmp(arg, "--q") == 0) {
            if (number(v, 65535, &a->q) != 0) return "--q takes a number";
            a->have |= HAVE_Q;
        } else if (strcmp(arg, "--key-version") == 0) {
            if (number(v, 0xffffffffUL, &a->key_version) != 0) return "--key-version takes a number";
            a->have |= HAVE_VERSION;
        } else if (strcmp(arg, "--fps") == 0) {
            if (number(v, 1000, &a->fps) != 0 || a->fps == 0) return "--fps takes 1 to 1000";
        } else if (strcmp(arg, "--expiry-ms") == 0) {
            if (number(v, 0xffffffffUL, &a->expiry_ms) != 0 || a->expiry_ms == 0)
                return "--expiry-ms takes a positive number";
        } else if (strcmp(arg, "--level") == 0) {
            if (strcmp(v, "basic") == 0) a->level = FACESEAL_SECURITY_LEVEL_BASIC;
            else if (strcmp(v, "standard") == 0) a->level = FACESEAL_SECURITY_LEVEL_STANDARD;
            else if (strcmp(v, "strict") == 0) a->level = FACESEAL_SECURITY_LEVEL_STRICT;
            else return "--level is basic, standard or strict";
            a->have |= HAVE_LEVEL;
        } else
            return "unknown option";
    }
    if (a->have != HAVE_ALL) return "a required option is missing";
    if (a->frame_count == 0) return "no frame given";
    return NULL;
}

/* The engine for the tenant of the bundle. */
static FacesealStatus start_engine(Args *a, FacesealEngine **engine) {
    FacesealConfig *config = NULL;
    FacesealStatus status = faceseal_config_new(&config);
    for (char *dir = strtok(a->models, ":"); status == FACESEAL_STATUS_OK && dir;
         dir = strtok(NULL, ":"))
        status = faceseal_config_add_model_dir(config, dir);
    if (status == FACESEAL_STATUS_OK)
        status = faceseal_config_set_tenant(config, a->tenant_id, a->public_key, 32);
    if (status == FACESEAL_STATUS_OK)
        status = faceseal_config_set_template_secret(config, a->secret, 32,
                                                     (uint32_t)a->key_version);
    if (status == FACESEAL_STATUS_OK)
        status = faceseal_config_set_template_params(config, (uint32_t)a->m, (uint32_t)a->q);
    if (status == FACESEAL_STATUS_OK) status = faceseal_engine_new(config, engine);
    faceseal_config_free(config);
    memset(a->secret, 0, sizeof a->secret);
    return status;
}

static int refused(FacesealStatus status, const FacesealCaptureResult *result) {
    printf("{\"result\":\"refused\",\"code\":");
    json_string(faceseal_status_name((uint32_t)status));
    printf(",\"reasons\":[");
    if (status == FACESEAL_STATUS_NOT_LIVE) {
        const FacesealBurstDecision *d = &result->decision;
        for (uint32_t i = 0; i < d->reason_count && i < FACESEAL_MAX_REASONS; i++) {
            if (i) putchar(',');
            json_string(faceseal_refusal_reason_name(d->reasons[i]));
        }
        printf("],\"score\":%.6f}\n", (double)d->passive_score);
    } else {
        printf("],\"score\":null}\n");
    }
    return 1;
}

/* One session over the frames; the exit status of the program. */
static int capture(FacesealEngine *engine, const Args *a) {
    FacesealCaptureConfig config;
    memset(&config, 0, sizeof config);
    config.purpose = a->purpose;
    config.level = a->level;
    config.subject_id = a->subject;
    config.consent_ref = a->consent;
    config.challenge = a->nonce;
    config.challenge_len = 32;
    config.expiry_ms = (uint32_t)a->expiry_ms;
    FacesealCaptureSession *session = NULL;
    FacesealStatus status = faceseal_capture_new(engine, &config, &session);
    if (status != FACESEAL_STATUS_OK) return error(status);
    int rc = 0;
    for (size_t i = 0; i < a->frame_count && rc == 0; i++) {
        size_t len = 0;
        uint8_t *bytes = read_file(a->frames[i], &len);
        if (!bytes) {
            fprintf(stderr, "device: cannot read %s\n", a->frames[i]);
            rc = 2;
            break;
        }
        FacesealFrame frame;
        memset(&frame, 0, sizeof frame);
        frame.data = bytes;
        frame.len = len;
        frame.format = FACESEAL_PIXEL_FORMAT_ENCODED;
        frame.timestamp_ms = (uint64_t)i * 1000 / a->fps;
        FacesealFrameFeedback feedback;
        status = faceseal_capture_push_frame(session, &frame, NULL, &feedback);
        free(bytes);
        if (status != FACESEAL_STATUS_OK) {
            rc = error(status);
            break;
        }
        printf("{\"frame\":%zu,\"guidance\":\"%s\",\"frames\":%u,\"usable\":%u,\"needed\":%u}\n", i,
               faceseal_guidance_name(feedback.guidance), feedback.frames, feedback.usable_frames,
               feedback.frames_needed);
    }
    if (rc == 0) {
        FacesealCaptureResult result;
        memset(&result, 0, sizeof result);
        status = faceseal_capture_finish(session, NULL, &result);
        if (status == FACESEAL_STATUS_OK) {
            printf("{\"result\":\"sealed\",\"envelope\":\"");
            print_base64(result.sealed.data, result.sealed.len);
            printf("\"}\n");
        } else if (status == FACESEAL_STATUS_NOT_LIVE || status == FACESEAL_STATUS_NO_USABLE_FACE) {
            rc = refused(status, &result);
        } else {
            rc = error(status);
        }
        faceseal_capture_result_free(&result);
    }
    faceseal_capture_free(session);
    return rc;
}

int main(int argc, char **argv) {
    Args args;
    const char *problem = parse(argc, argv, &args);
    if (problem) return usage(problem);
    if (faceseal_abi_version() != FACESEAL_ABI_VERSION) {
        fprintf(stderr, "device: faceseal.h does not match the library\n");
        return 4;
    }
    FacesealEngine *engine = NULL;
    FacesealStatus status = start_engine(&args, &engine);
    if (status != FACESEAL_STATUS_OK) return error(status);
    int rc = capture(engine, &args);
    fflush(stdout);
    faceseal_engine_free(engine);
    return rc;
}
