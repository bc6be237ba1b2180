// Capture sessions through the Kotlin bindings on the JVM, on real NUAA
// webcam bursts: a live burst seals, a printed-photo burst is refused with
// its reasons and scores, and every misuse of a session is its own typed
// exception. A plain program (no test framework): it prints
// "N passed, N failed" and exits non-zero on any failure. Run by
// bindings/kotlin/run-test.sh.
//
// usage: CaptureSessionKt MODEL_DIR[:MODEL_DIR...] DATA_DIR

import java.io.File
import java.util.concurrent.CountDownLatch
import kotlin.system.exitProcess
import org.faceseal.CaptureConfig
import org.faceseal.CaptureException
import org.faceseal.CapturePurpose
import org.faceseal.CaptureSession
import org.faceseal.EngineSettings
import org.faceseal.FaceEngine
import org.faceseal.Frame
import org.faceseal.Guidance
import org.faceseal.RefusalReason
import org.faceseal.SecurityLevel

private var passed = 0
private var failed = 0

private fun check(condition: Boolean, what: String) {
    if (condition) passed++ else {
        failed++
        System.err.println("FAILED: $what")
    }
}

/** Runs [block] and returns the exception it threw, if it is an [E]. */
private inline fun <reified E : Throwable> thrown(what: String, block: () -> Unit): E? {
    try {
        block()
        check(false, "$what: no exception")
    } catch (e: Throwable) {
        check(e is E, "$what: got ${e::class.simpleName}: ${e.message}")
        if (e is E) return e
    }
    return null
}

/**
 * The first [n] frames of a NUAA session ([prefix]: id, glasses, position,
 * session) in a split list, in frame order, each with its capture time:
 * NUAA numbers its webcam frames at about 20 a second.
 */
private fun nuaaSession(data: File, list: String, dir: String, prefix: String, n: Int): List<Pair<File, ULong>> {
    val root = File(data, "nuaa")
    val frames = File(root, list).readLines()
        .filter { it.split('/').getOrNull(1)?.startsWith(prefix) == true }
        .map { line ->
            val number = line.removeSuffix(".jpg").substringAfterLast('_').toULong()
            File(root, "$dir/$line") to number * 50uL
        }
        .sortedBy { it.second }
    check(frames.size >= n, "$prefix: ${frames.size} frames")
    return frames.take(n)
}

private fun frame(file: File) = Frame.Encoded(file.readBytes())

fun main(args: Array<String>) {
    val modelDirs = args[0].split(':').filter { it.isNotEmpty() }
    val data = File(args[1])
    val settings = EngineSettings(
        modelDirs = modelDirs,
        tenantId = "acme",
        // RFC 7748's test public key: a real app uses its tenant's key.
        tenantPublicKey = ByteArray(32) { i ->
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
                .substring(2 * i, 2 * i + 2).toInt(16).toByte()
        },
        templateSecret = ByteArray(32) { 0x5a },
        keyVersion = 1u,
        workers = 1u,
        queueDepth = 4u,
        timeoutMs = 600_000u,
        livenessThreshold = null,
        matchThreshold = null,
    )
    val live = nuaaSession(data, "clientraw_train.txt", "ClientRaw", "0003_01_00_01", 5)
    val print = nuaaSession(data, "imposterraw_train.txt", "ImposterRaw", "0003_01_00_01", 5)
    fun config(purpose: CapturePurpose = CapturePurpose.ENROL, expiryMs: ULong = 60_000uL) = CaptureConfig(
        purpose = purpose,
        subjectId = "subject-0003",
        consentRef = "consent-2026-0003",
        challenge = ByteArray(32) { 7 },
        level = SecurityLevel.STANDARD,
        expiryMs = expiryMs,
    )

    FaceEngine(settings).use { engine ->
        // A live burst seals.
        engine.startCapture(config()).use { session ->
            check(session.challengeSteps().isEmpty(), "no challenge below Strict")
            val guidance = live.map { (file, t) ->
                val feedback = session.pushFrame(frame(file), t)
                check(feedback.needed == 5u && feedback.instruction.isNotEmpty(), "feedback: $feedback")
                feedback
            }
            println("live burst guidance: ${guidance.map { it.guidance }}")
            check(guidance.map { it.frames } == listOf(1u, 2u, 3u, 4u, 5u), "frames counted")
            check(guidance.last().guidance == Guidance.DONE, "the last frame says done: ${guidance.last()}")
            check(guidance.last().usable >= 1u, "usable frames")
            val result = session.finish()
            println("live burst: ${result.decision}")
            check(result.sealed.size > 100, "envelope sealed")
            check(String(result.sealed.copyOfRange(0, 4), Charsets.US_ASCII) == "FSSE", "envelope magic")
            check(result.template.isNotEmpty(), "protected template")
            check(result.decision.live && result.decision.reasons.isEmpty(), "decided live")
            check(result.decision.scores.score >= 0.5f, "live score at least the pass mark")
            check(result.decision.level == SecurityLevel.STANDARD, "level applied")

            // Use after finish.
            thrown<CaptureException.Finished>("push after finish") { session.pushFrame(frame(live[0].first), 10_000uL) }
            thrown<CaptureException.Finished>("finish after finish") { session.finish() }
        }

        // A printed photo is refused with its reasons and scores.
        engine.startCapture(config(CapturePurpose.VERIFY)).use { session ->
            print.forEach { (file, t) -> session.pushFrame(frame(file), t) }
            val refusal = thrown<CaptureException.NotLive>("print attack") { session.finish() }
            if (refusal != null) {
                println("print attack: reasons ${refusal.reasons}, scores ${refusal.scores}")
                check(RefusalReason.PASSIVE_SPOOF in refusal.reasons, "passive spoof among ${refusal.reasons}")
                check(refusal.scores.score < 0.5f, "refused below the pass mark")
                check(refusal.scores.passive < 0.5f, "passive score below its pass mark")
                // A refusal is switchable.
                val codes = refusal.reasons.map {
                    when (it) {
                        RefusalReason.PASSIVE_SPOOF -> "passive_spoof"
                        else -> it.name.lowercase()
                    }
                }
                check(codes.isNotEmpty(), "reason codes")
            }
            thrown<CaptureException.Finished>("a refused session is over") { session.finish() }
        }

        // Frames out of order.
        engine.startCapture(config()).use { session ->
            session.pushFrame(frame(live[1].first), live[1].second)
            val e = thrown<CaptureException.FrameOutOfOrder>("frame out of order") {
                session.pushFrame(frame(live[0].first), live[0].second)
            }
            check(e?.given == live[0].second && e.last == live[1].second, "out of order carries times: $e")
            // Too early to finish.
            val early = thrown<CaptureException.NotEnoughFrames>("finish too early") { session.finish() }
            check(early?.given == 1u && early.needed == 5u, "not enough frames carries counts: $early")
            // A frame of another size mid-burst (LFW pictures are 250x250).
            val other = File(data, "lfw/images/Tony_Blair/Tony_Blair_0018.jpg")
            val size = thrown<CaptureException.FrameSizeChanged>("other size mid-burst") {
                session.pushFrame(frame(other), 100_000uL)
            }
            check(
                size?.width == 250u && size.height == 250u && size.expectedWidth == 640u && size.expectedHeight == 480u,
                "size change carries sizes: $size",
            )
        }

        // A finish with no frame.
        engine.startCapture(config()).use { session ->
            val none = thrown<CaptureException.NotEnoughFrames>("finish with no frame") { session.finish() }
            check(none?.given == 0u, "no frame given: $none")
        }

        // After expiry.
        engine.startCapture(config(expiryMs = 1uL)).use { session ->
            Thread.sleep(20)
            thrown<CaptureException.Expired>("push after expiry") { session.pushFrame(frame(live[0].first), 0uL) }
            thrown<CaptureException.Finished>("an expired session is over") { session.finish() }
        }

        // Two threads at once: one frame is analysed, the other call is
        // refused. Whether the two calls overlap is up to the scheduler, so
        // up to ten rounds are tried; the second call may also come after
        // the first finished (then it is simply out of order or analysed).
        val seen = mutableListOf<Any?>()
        for (round in 0 until 10) {
            if (seen.any { it is CaptureException.InUse }) break
            engine.startCapture(config()).use { session ->
                val start = CountDownLatch(1)
                val outcomes = arrayOfNulls<Any>(2)
                val frames = (0..1).map { i -> frame(live[i].first) }
                val threads = (0..1).map { i ->
                    Thread {
                        start.await()
                        outcomes[i] = try {
                            session.pushFrame(frames[i], 1000uL + i.toULong())
                        } catch (e: CaptureException) {
                            e
                        }
                    }.also { it.start() }
                }
                start.countDown()
                threads.forEach { it.join() }
                seen.addAll(outcomes)
            }
        }
        println("two threads: ${seen.map { it?.let { o -> o::class.simpleName } }}")
        check(seen.any { it is CaptureException.InUse }, "one thread gets InUse: $seen")
        check(seen.any { it is org.faceseal.FrameFeedback }, "the other gets feedback")
        check(
            seen.all { it is org.faceseal.FrameFeedback || it is CaptureException.InUse || it is CaptureException.FrameOutOfOrder },
            "nothing else: $seen",
        )

        // Bad configuration is refused before any frame.
        thrown<CaptureException.InvalidArgument>("short challenge") {
            engine.startCapture(config().copy(challenge = ByteArray(31)))
        }
        thrown<CaptureException.InvalidArgument>("burst of one frame") {
            engine.startCapture(config().copy(burstFrames = 1u))
        }
        thrown<CaptureException.Consent>("blank consent") {
            engine.startCapture(config().copy(consentRef = " "))
        }
        thrown<CaptureException.InvalidImage>("garbage bytes") {
            engine.startCapture(config()).use { it.pushFrame(Frame.Encoded(ByteArray(64) { b -> b.toByte() }), 0uL) }
        }
    }
    // Without a tenant key, no session starts.
    FaceEngine(settings.copy(tenantId = null, tenantPublicKey = null)).use { engine ->
        thrown<CaptureException.NotConfigured>("no tenant key") { engine.startCapture(config()) }
    }
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
