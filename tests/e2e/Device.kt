// The device side of the end-to-end flow, through the Kotlin bindings only:
// one capture session over the frames given, in order, printing the
// guidance of each frame and then the sealed envelope or the refusal as JSON
// lines. The tenant's backend (the test driver) gets the challenge and the
// capture token, posts the envelope and reads the decision.
//
// usage: Device enrol|verify --models DIR[:DIR...] --tenant-id ID
//            --public-key HEX64 --template-secret HEX --m M --q Q
//            --key-version N --level basic|standard|strict --nonce HEX64
//            --subject ID --consent REF [--fps 20] [--expiry-ms 10000]
//            FRAME.jpg...
//
// stdout, one JSON object a line:
//   per frame  {"frame":I,"guidance":"hold_still","frames":N,"usable":U,"needed":K}
//   then one of
//     {"result":"sealed","envelope":"<base64>"}                            exit 0
//     {"result":"refused","code":"not_live","reasons":[...],"score":S}      exit 1
//     {"result":"refused","code":"no_usable_face"|"low_quality",...}       exit 1
//     {"result":"error","code":"...","message":"..."}                      exit 4
// Bad arguments: {"result":"error","code":"usage",...} and exit 2.

import java.io.File
import java.util.Base64
import kotlin.system.exitProcess
import org.faceseal.CaptureConfig
import org.faceseal.CaptureException
import org.faceseal.CapturePurpose
import org.faceseal.EngineSettings
import org.faceseal.FaceEngine
import org.faceseal.FacesealException
import org.faceseal.Frame
import org.faceseal.SecurityLevel

private const val EXIT_SEALED = 0
private const val EXIT_REFUSED = 1
private const val EXIT_USAGE = 2
private const val EXIT_ERROR = 4

private class Usage(message: String) : Exception(message)

private class Args(
    val purpose: CapturePurpose,
    val models: List<String>,
    val tenantId: String,
    val publicKey: ByteArray,
    val templateSecret: ByteArray,
    val m: UShort,
    val q: UShort,
    val keyVersion: UInt,
    val level: SecurityLevel,
    val nonce: ByteArray,
    val subject: String,
    val consent: String,
    val fps: Long,
    val expiryMs: ULong,
    val frames: List<File>,
)

private fun hex(name: String, text: String, bytes: Int? = null): ByteArray {
    if (text.length % 2 != 0 || (bytes != null && text.length != 2 * bytes)) {
        throw Usage("$name must be ${bytes?.let { "${2 * it} " } ?: ""}hex digits")
    }
    return ByteArray(text.length / 2) { i ->
        val byte = text.substring(2 * i, 2 * i + 2).toIntOrNull(16) ?: throw Usage("$name must be hex digits")
        byte.toByte()
    }
}

private fun parse(argv: Array<String>): Args {
    val purpose = when (argv.firstOrNull()) {
        "enrol" -> CapturePurpose.ENROL
        "verify" -> CapturePurpose.VERIFY
        else -> throw Usage("the first argument must be enrol or verify")
    }
    val options = mutableMapOf<String, String>()
    val frames = mutableListOf<File>()
    var i = 1
    while (i < argv.size) {
        val a = argv[i]
        if (a.startsWith("--")) {
            val value = argv.getOrNull(i + 1) ?: throw Usage("$a needs a value")
            options[a.removePrefix("--")] = value
            i += 2
        } else {
            frames += File(a)
            i += 1
        }
    }
    val known = setOf(
        "models", "tenant-id", "public-key", "template-secret", "m", "q", "key-version", "level", "nonce",
        "subject", "consent", "fps", "expiry-ms",
    )
    options.keys.firstOrNull { it !in known }?.let { throw Usage("unknown option --$it") }
    fun required(name: String) = options[name] ?: throw Usage("--$name is required")
    fun number(name: String, default: String? = null): Long =
        (options[name] ?: default ?: required(name)).toLongOrNull()?.takeIf { it >= 0 }
            ?: throw Usage("--$name must be a non-negative integer")
    if (frames.isEmpty()) throw Usage("no frame given")
    frames.firstOrNull { !it.isFile }?.let { throw Usage("${it.path}: no such file") }
    val fps = number("fps", "20")
    if (fps == 0L) throw Usage("--fps must be positive")
    val m = number("m")
    val q = number("q")
    if (m > UShort.MAX_VALUE.toLong() || q > UShort.MAX_VALUE.toLong()) throw Usage("--m and --q are at most 65535")
    val keyVersion = number("key-version")
    if (keyVersion > UInt.MAX_VALUE.toLong()) throw Usage("--key-version is at most ${UInt.MAX_VALUE}")
    return Args(
        purpose = purpose,
        models = required("models").split(':').filter { it.isNotEmpty() },
        tenantId = required("tenant-id"),
        publicKey = hex("--public-key", required("public-key"), 32),
        templateSecret = hex("--template-secret", required("template-secret")),
        m = m.toUShort(),
        q = q.toUShort(),
        keyVersion = keyVersion.toUInt(),
        level = when (required("level")) {
            "basic" -> SecurityLevel.BASIC
            "standard" -> SecurityLevel.STANDARD
            "strict" -> SecurityLevel.STRICT
            else -> throw Usage("--level must be basic, standard or strict")
        },
        nonce = hex("--nonce", required("nonce"), 32),
        subject = required("subject"),
        consent = required("consent"),
        fps = fps,
        expiryMs = number("expiry-ms", "10000").toULong(),
        frames = frames,
    )
}

private fun quote(text: String): String {
    val out = StringBuilder("\"")
    for (c in text) {
        when {
            c == '"' -> out.append("\\\"")
            c == '\\' -> out.append("\\\\")
            c < ' ' -> out.append(String.format("\\u%04x", c.code))
            else -> out.append(c)
        }
    }
    return out.append('"').toString()
}

/** `FrameOutOfOrder` → `frame_out_of_order`; `PASSIVE_SPOOF` → `passive_spoof`. */
private fun snake(name: String): String =
    if (name.any { it.isLowerCase() }) {
        name.replace(Regex("([a-z0-9])([A-Z])"), "$1_$2").lowercase()
    } else {
        name.lowercase()
    }

private fun line(vararg fields: Pair<String, String>) {
    println(fields.joinToString(",", "{", "}") { (k, v) -> "${quote(k)}:$v" })
    System.out.flush()
}

private fun error(code: String, message: String?, exit: Int): Nothing {
    line("result" to quote("error"), "code" to quote(code), "message" to quote(message ?: code))
    exitProcess(exit)
}

private fun run(args: Args): Int {
    val settings = EngineSettings(
        modelDirs = args.models,
        tenantId = args.tenantId,
        tenantPublicKey = args.publicKey,
        templateSecret = args.templateSecret,
        keyVersion = args.keyVersion,
        templateM = args.m,
        templateQ = args.q,
        workers = 1u,
        queueDepth = 4u,
        // Frames come from files, maybe on a loaded machine: each call gets a
        // minute. The session's expiry and the challenge's still bound the capture.
        timeoutMs = 60_000u,
        livenessThreshold = null,
        matchThreshold = null,
    )
    val engine = try {
        FaceEngine(settings)
    } finally {
        // The engine holds its own copy: wipe the one read from the arguments.
        args.templateSecret.fill(0)
    }
    engine.use { engine ->
        val config = CaptureConfig(
            purpose = args.purpose,
            subjectId = args.subject,
            consentRef = args.consent,
            challenge = args.nonce,
            level = args.level,
            expiryMs = args.expiryMs,
        )
        engine.startCapture(config).use { session ->
            args.frames.forEachIndexed { i, file ->
                val timestamp = i.toLong() * 1000L / args.fps
                val feedback = session.pushFrame(Frame.Encoded(file.readBytes()), timestamp.toULong())
                line(
                    "frame" to "$i",
                    "guidance" to quote(feedback.guidance.name.lowercase()),
                    "frames" to "${feedback.frames}",
                    "usable" to "${feedback.usable}",
                    "needed" to "${feedback.needed}",
                )
            }
            val result = session.finish()
            line("result" to quote("sealed"), "envelope" to quote(Base64.getEncoder().encodeToString(result.sealed)))
            return EXIT_SEALED
        }
    }
}

/** A sentence for an error (the exception's own message lists its fields). */
private fun describe(e: CaptureException): String = when (e) {
    is CaptureException.FrameOutOfOrder -> "frame timestamps must increase (got ${e.given} ms after ${e.last} ms)"
    is CaptureException.FrameSizeChanged ->
        "frame size changed mid-burst (${e.width}x${e.height}, expected ${e.expectedWidth}x${e.expectedHeight})"
    is CaptureException.NotEnoughFrames -> "not enough frames to decide: ${e.given} of ${e.needed}"
    is CaptureException.TooManyFrames -> "the session takes at most ${e.max} frames"
    is CaptureException.Expired -> "the session expired before it was finished"
    is CaptureException.InvalidImage -> e.detail
    is CaptureException.Consent -> e.detail
    is CaptureException.InvalidArgument -> e.detail
    is CaptureException.NotConfigured -> e.detail
    is CaptureException.Model -> e.detail
    is CaptureException.Internal -> e.detail
    else -> e.message ?: e.javaClass.simpleName
}

fun main(argv: Array<String>) {
    val args = try {
        parse(argv)
    } catch (e: Usage) {
        System.err.println("usage error: ${e.message}")
        error("usage", e.message, EXIT_USAGE)
    }
    val exit = try {
        run(args)
    } catch (e: CaptureException.NotLive) {
        line(
            "result" to quote("refused"),
            "code" to quote("not_live"),
            "reasons" to e.reasons.joinToString(",", "[", "]") { quote(it.name.lowercase()) },
            "score" to "${e.scores.score}",
        )
        EXIT_REFUSED
    } catch (e: CaptureException.NoUsableFace) {
        line("result" to quote("refused"), "code" to quote("no_usable_face"))
        EXIT_REFUSED
    } catch (e: CaptureException.LowQuality) {
        line(
            "result" to quote("refused"),
            "code" to quote("low_quality"),
            "issues" to e.issues.joinToString(",", "[", "]") { quote(it.name.lowercase()) },
        )
        EXIT_REFUSED
    } catch (e: CaptureException) {
        error(snake(e.javaClass.simpleName), describe(e), EXIT_ERROR)
    } catch (e: FacesealException) {
        error(snake(e.javaClass.simpleName), e.message, EXIT_ERROR)
    } catch (e: Throwable) {
        // Not one of the library's answers (no library, a JVM failure): never
        // the exit status of a refusal.
        error("internal", "${e.javaClass.name}: ${e.message}", EXIT_ERROR)
    }
    exitProcess(exit)
}
