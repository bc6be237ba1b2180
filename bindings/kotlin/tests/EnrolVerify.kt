// The Kotlin bindings' one-shot calls end to end on the JVM: enrol from a
// NUAA live burst (the same burst liveness decision as a capture session),
// compare another burst of the same person and one of another, and the
// error types.
// A plain program (no test framework): it prints "N passed, N failed" and
// exits non-zero on any failure. Run by bindings/kotlin/run-test.sh.
//
// usage: EnrolVerifyKt MODEL_DIR[:MODEL_DIR...] DATA_DIR

import java.io.File
import kotlin.system.exitProcess
import org.faceseal.CancelHandle
import org.faceseal.CaptureException
import org.faceseal.EngineSettings
import org.faceseal.FaceEngine
import org.faceseal.FacesealException
import org.faceseal.Frame
import org.faceseal.PixelFormat
import org.faceseal.SecurityLevel
import org.faceseal.TimedFrame

private var passed = 0
private var failed = 0

private fun check(condition: Boolean, what: String) {
    if (condition) passed++ else {
        failed++
        System.err.println("FAILED: $what")
    }
}

private inline fun <reified E : Throwable> expectThrows(what: String, block: () -> Unit) {
    try {
        block()
        check(false, "$what: no exception")
    } catch (e: Throwable) {
        check(e is E, "$what: got ${e::class.simpleName}: ${e.message}")
    }
}

/** Frames [from] until [until] of a NUAA train session, in frame order, timed at 20 fps. */
private fun burst(data: File, list: String, dir: String, prefix: String, from: Int, until: Int): List<TimedFrame> {
    val root = File(data, "nuaa")
    return File(root, list).readLines()
        .filter { it.split('/').getOrNull(1)?.startsWith(prefix) == true }
        .sortedBy { it.removeSuffix(".jpg").substringAfterLast('_').toInt() }
        .subList(from, until)
        .mapIndexed { i, line -> TimedFrame(Frame.Encoded(File(root, "$dir/$line").readBytes()), i.toULong() * 50uL) }
}

fun main(args: Array<String>) {
    val modelDirs = args[0].split(':').filter { it.isNotEmpty() }
    val data = File(args[1])
    val lfw = File(data, "lfw/images")
    fun picture(path: String) = Frame.Encoded(File(lfw, path).readBytes())
    fun timed(path: String) = TimedFrame(picture(path), 0uL)
    val enrolBurst = burst(data, "clientraw_train.txt", "ClientRaw", "0003_01_00_01", 0, 5)
    val sameBurst = burst(data, "clientraw_train.txt", "ClientRaw", "0003_01_00_01", 5, 10)
    // Person 0006 is one the embedder tells from 0003 at LFW's FAR 1e-3 point
    // (most pairs of NUAA's people it does not: see README.md).
    val otherBurst = burst(data, "clientraw_train.txt", "ClientRaw", "0006_00_00_01", 0, 5)
    val challenge = ByteArray(32) { 7 }

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
        timeoutMs = 0u,
        livenessThreshold = null,
        // LFW's operating point at a false-accept rate of 1e-3.
        matchThreshold = 0.717,
    )
    FaceEngine(settings).use { engine ->
        val faces = engine.detect(picture("Tony_Blair/Tony_Blair_0018.jpg"))
        check(faces.size == 1 && faces[0].score > 0.9f, "one face detected")

        val enrolled = engine.enroll(enrolBurst, "subject-0042", "consent-2024-0042", challenge, SecurityLevel.STANDARD)
        check(enrolled.sealed.size > 100, "sealed template")
        check(String(enrolled.sealed.copyOfRange(0, 4), Charsets.US_ASCII) == "FSSE", "envelope magic")

        val same = engine.compareLocal(
            sameBurst, "subject-0042", "consent-2", challenge, SecurityLevel.STANDARD, enrolled.template,
        )
        val other = engine.compareLocal(
            otherBurst, "subject-0042", "consent-3", challenge, SecurityLevel.STANDARD, enrolled.template,
        )
        println("same person: score ${same.score} matched ${same.matched}")
        println("another person: score ${other.score} matched ${other.matched}")
        check(same.matched, "same person matches")
        check(!other.matched && other.score < same.score, "another person does not match")

        val probe = engine.probe(sameBurst, "subject-0042", "consent-4", challenge, SecurityLevel.STANDARD)
        check(probe.size > 100, "probe sealed")
        // A print attack: the one-shot call runs the burst liveness decision.
        expectThrows<CaptureException.NotLive>("print attack, one shot") {
            engine.probe(
                burst(data, "imposterraw_train.txt", "ImposterRaw", "0003_01_00_01", 0, 5),
                "subject-0042", "consent-5", challenge, SecurityLevel.STANDARD,
            )
        }
        // One frame is no burst.
        expectThrows<CaptureException.NotEnoughFrames>("a single frame") {
            engine.probe(sameBurst.take(1), "subject-0042", "consent-6", challenge, SecurityLevel.STANDARD)
        }

        // Errors arrive as FacesealException subclasses.
        expectThrows<FacesealException.InvalidImage>("garbage bytes") {
            engine.detect(Frame.Encoded(ByteArray(64) { it.toByte() }))
        }
        expectThrows<FacesealException.InvalidImage>("raw buffer too short") {
            engine.detect(Frame.Raw(ByteArray(100), 96u, 96u, 288u, PixelFormat.RGB, 0))
        }
        expectThrows<FacesealException.NoFace>("no face in a grey camera frame") {
            engine.checkLiveness(Frame.Raw(ByteArray(96 * 96 * 4) { 127 }, 96u, 96u, 384u, PixelFormat.BGRA, 90))
        }
        expectThrows<CaptureException.Consent>("blank consent") {
            engine.enroll(enrolBurst, "subject-0042", " ", challenge, SecurityLevel.STANDARD)
        }
        expectThrows<CaptureException.InvalidArgument>("short challenge") {
            engine.probe(listOf(timed("Tony_Blair/Tony_Blair_0032.jpg")), "s", "c", ByteArray(31), SecurityLevel.STANDARD)
        }
        expectThrows<CaptureException.InvalidTemplate>("garbage template") {
            engine.compareLocal(sameBurst, "s", "c", challenge, SecurityLevel.STANDARD, ByteArray(20))
        }
        val cancel = CancelHandle()
        cancel.cancel()
        expectThrows<FacesealException.Cancelled>("cancelled") {
            engine.detect(picture("Tony_Blair/Tony_Blair_0018.jpg"), cancel)
        }
    }
    expectThrows<FacesealException.Model>("no models") {
        FaceEngine(settings.copy(modelDirs = listOf("/nonexistent")))
    }
    println("$passed passed, $failed failed")
    exitProcess(if (failed == 0) 0 else 1)
}
