// The Kotlin bindings end to end on the JVM: enrol from two real pictures,
// verify a third of the same person and one of another, and the error types.
// A plain program (no test framework): it prints "N passed, N failed" and
// exits non-zero on any failure. Run by bindings/kotlin/run-test.sh.
//
// usage: EnrolVerifyKt MODEL_DIR[:MODEL_DIR...] DATA_DIR

import java.io.File
import kotlin.system.exitProcess
import org.faceseal.CancelHandle
import org.faceseal.EngineSettings
import org.faceseal.FaceEngine
import org.faceseal.FacesealException
import org.faceseal.Frame
import org.faceseal.PixelFormat

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

fun main(args: Array<String>) {
    val modelDirs = args[0].split(':').filter { it.isNotEmpty() }
    val lfw = File(args[1], "lfw/images")
    fun picture(path: String) = Frame.Encoded(File(lfw, path).readBytes())

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
        matchThreshold = null,
    )
    FaceEngine(settings).use { engine ->
        val faces = engine.detect(picture("Tony_Blair/Tony_Blair_0018.jpg"))
        check(faces.size == 1 && faces[0].score > 0.9f, "one face detected")

        val enrolled = engine.enroll(
            listOf(picture("Tony_Blair/Tony_Blair_0018.jpg"), picture("Tony_Blair/Tony_Blair_0064.jpg")),
            "subject-0042",
            "consent-2024-0042",
        )
        check(enrolled.sealed.size > 100, "sealed template")
        check(String(enrolled.sealed.copyOfRange(0, 4), Charsets.US_ASCII) == "FSSE", "envelope magic")

        val same = engine.compareLocal(
            listOf(picture("Tony_Blair/Tony_Blair_0032.jpg")), "subject-0042", "consent-2", enrolled.template,
        )
        val other = engine.compareLocal(
            listOf(picture("Abdullah_Gul/Abdullah_Gul_0001.jpg")), "subject-0042", "consent-3", enrolled.template,
        )
        println("same person: score ${same.score} matched ${same.matched}")
        println("another person: score ${other.score} matched ${other.matched}")
        check(same.matched, "same person matches")
        check(!other.matched && other.score < same.score, "another person does not match")

        val probe = engine.probe(
            listOf(picture("Tony_Blair/Tony_Blair_0032.jpg")), "subject-0042", "consent-4", ByteArray(32) { 7 },
        )
        check(probe.size > 100, "probe sealed")

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
        expectThrows<FacesealException.Consent>("blank consent") {
            engine.enroll(listOf(picture("Tony_Blair/Tony_Blair_0018.jpg")), "subject-0042", " ")
        }
        expectThrows<FacesealException.InvalidArgument>("short challenge") {
            engine.probe(listOf(picture("Tony_Blair/Tony_Blair_0032.jpg")), "s", "c", ByteArray(31))
        }
        expectThrows<FacesealException.InvalidTemplate>("garbage template") {
            engine.compareLocal(listOf(picture("Tony_Blair/Tony_Blair_0032.jpg")), "s", "c", ByteArray(20))
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
