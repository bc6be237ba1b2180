// Android: enrol or verify a person through a capture session, with the
// faceseal Kotlin bindings (bindings/kotlin; package org.faceseal, with
// libfaceseal.so for arm64-v8a in jniLibs and JNA as a dependency).
//
// The flow (sync/README.md, "Device capture flow"):
//   1. the app's own backend, which holds the tenant's API key, gives the
//      tenant's bundle and, per operation, a challenge from the server
//      (POST /v1/challenges naming the subject) with its capture token;
//   2. the camera's frames go into a CaptureSession with their capture
//      times, and each frame's guidance is shown to the person;
//   3. `finish` seals the template with the challenge; the device posts the
//      envelope to the server with `Authorization: Capture <token>` (never
//      the API key) and the server answers only that it received it;
//   4. the backend reads the decision (GET /v1/challenges/{id}).
//
// Nothing here needs an Android class: the camera (CameraX's ImageAnalysis
// gives NV21 or RGBA buffers and a rotation) and the screen sit behind the
// two small interfaces below, so this file also compiles on a plain JVM.
// Run `capture` off the main thread: each call blocks until its result.

import java.net.HttpURLConnection
import java.net.URL
import org.faceseal.CaptureConfig
import org.faceseal.CaptureException
import org.faceseal.CapturePurpose
import org.faceseal.EngineSettings
import org.faceseal.FaceEngine
import org.faceseal.Frame
import org.faceseal.FrameFeedback
import org.faceseal.Guidance
import org.faceseal.HeadTurn
import org.faceseal.PixelFormat
import org.faceseal.RefusalReason
import org.faceseal.SecurityLevel

/** The tenant's key bundle, as the backend got it from `GET /v1/bundle`. */
class Bundle(
    val tenantId: String,
    /** The X25519 public key (`public_key`, 32 bytes). */
    val publicKey: ByteArray,
    /** `template.m`, `template.q`, `template.key_version`. */
    val m: UShort,
    val q: UShort,
    val keyVersion: UInt,
    /** `liveness_level`: the level the server holds every envelope to. */
    val level: SecurityLevel,
)

/** One operation's challenge, handed to the device by the backend. */
class DeviceChallenge(
    val challengeId: String,
    /** The server's 32-byte nonce. */
    val nonce: ByteArray,
    /** Single use, for this challenge only (`fsc_…`). */
    val captureToken: String,
    /** The subject's consent reference for this purpose. */
    val consentRef: String,
)

/** What became of the operation, as the backend read it. */
class Decision(val outcome: String, val matched: Boolean?)

/** The app's own backend (it holds the API key; the device never does). */
interface AppBackend {
    fun bundle(): Bundle
    fun challenge(purpose: CapturePurpose, subjectId: String): DeviceChallenge
    fun decision(challengeId: String): Decision
}

/** A camera frame and when it was captured (monotonic clock, milliseconds). */
class CameraFrame(val frame: Frame, val timestampMs: ULong)

/** The camera: frames as they arrive; `stop` when the session has enough. */
interface Camera {
    fun next(): CameraFrame?
    fun stop()
}

/** The screen: what the person in front of the camera should do. */
interface GuidanceView {
    fun show(text: String)
}

/** How a capture ended, for the app to show. */
sealed class Outcome {
    class Decided(val decision: Decision) : Outcome()
    /** Refused on the device: nothing was sent. */
    class Refused(val message: String) : Outcome()
    /** The server refused the envelope (HTTP status and body). */
    class Rejected(val status: Int, val body: String) : Outcome()
}

/** A CameraX NV21 buffer with the row stride and rotation it reports. */
fun nv21Frame(nv21: ByteArray, width: Int, height: Int, rowStride: Int, rotationDegrees: Int) =
    Frame.Raw(nv21, width.toUInt(), height.toUInt(), rowStride.toUInt(), PixelFormat.NV21, rotationDegrees)

class FaceCheck(
    modelDir: String,
    /** The server's base URL, e.g. https://faces.example.com. */
    private val server: String,
    private val backend: AppBackend,
    /** The tenant's template secret, from the Android Keystore-wrapped store. */
    templateSecret: ByteArray,
) : AutoCloseable {
    private val bundle = backend.bundle()

    // One engine per app: models load once; calls from any thread queue up.
    private val engine = FaceEngine(
        EngineSettings(
            modelDirs = listOf(modelDir), // models copied from the APK's assets
            tenantId = bundle.tenantId,
            tenantPublicKey = bundle.publicKey,
            templateSecret = templateSecret,
            keyVersion = bundle.keyVersion,
            templateM = bundle.m,
            templateQ = bundle.q,
            workers = 1u,
            queueDepth = 4u,
            timeoutMs = 3000u,
            livenessThreshold = null,
            matchThreshold = null,
        ),
    )

    /** Enrols (`ENROL`) or verifies (`VERIFY`) the subject from the camera. */
    fun capture(purpose: CapturePurpose, subjectId: String, camera: Camera, view: GuidanceView): Outcome {
        val challenge = backend.challenge(purpose, subjectId)
        val config = CaptureConfig(
            purpose = purpose,
            subjectId = subjectId,
            consentRef = challenge.consentRef,
            challenge = challenge.nonce,
            level = bundle.level,
        )
        val sealed = try {
            engine.startCapture(config).use { session ->
                val steps = session.challengeSteps()
                if (steps.isNotEmpty()) view.show("You will be asked to " + steps.joinToString(", then ") { turn(it) })
                while (true) {
                    val next = camera.next() ?: break
                    val feedback = try {
                        session.pushFrame(next.frame, next.timestampMs)
                    } catch (e: CaptureException.Busy) {
                        continue // the engine is still on an earlier frame: skip this one
                    }
                    view.show(text(feedback))
                    if (feedback.guidance == Guidance.DONE) break
                }
                camera.stop()
                session.finish().sealed
            }
        } catch (e: CaptureException.NotLive) {
            return Outcome.Refused(refusal(e.reasons))
        } catch (e: CaptureException.NoUsableFace) {
            return Outcome.Refused("No clear picture of your face: face the camera in good light")
        } catch (e: CaptureException.NotEnoughFrames) {
            return Outcome.Refused("The camera stopped too early: try again")
        } catch (e: CaptureException.Expired) {
            return Outcome.Refused("That took too long: try again")
        }
        val route = if (purpose == CapturePurpose.ENROL) "/v1/enrolments" else "/v1/verifications"
        val (status, body) = post(route, challenge.captureToken, sealed)
        if (status !in 200..299) return Outcome.Rejected(status, body)
        return Outcome.Decided(backend.decision(challenge.challengeId))
    }

    /** The device's one request: the envelope, with the capture token alone. */
    private fun post(route: String, captureToken: String, envelope: ByteArray): Pair<Int, String> {
        val connection = URL(server + route).openConnection() as HttpURLConnection
        try {
            connection.requestMethod = "POST"
            connection.doOutput = true
            connection.setRequestProperty("Authorization", "Capture $captureToken")
            connection.setRequestProperty("Content-Type", "application/octet-stream")
            connection.outputStream.use { it.write(envelope) }
            val status = connection.responseCode
            val stream = if (status < 400) connection.inputStream else connection.errorStream
            return status to (stream?.bufferedReader()?.use { it.readText() } ?: "")
        } finally {
            connection.disconnect()
        }
    }

    override fun close() = engine.close()

    private companion object {
        fun turn(t: HeadTurn) = when (t) {
            HeadTurn.LEFT -> "turn left"
            HeadTurn.RIGHT -> "turn right"
            HeadTurn.UP -> "look up"
            HeadTurn.DOWN -> "look down"
        }

        /** Your own strings, per guidance (the bindings' `instruction` is English). */
        fun text(f: FrameFeedback) = when (f.guidance) {
            Guidance.NO_FACE -> "Look at the camera"
            Guidance.MULTIPLE_FACES -> "Only you in the picture, please"
            Guidance.MOVE_CLOSER -> "Move closer"
            Guidance.MOVE_BACK -> "Move back a little"
            Guidance.CENTRE_FACE -> "Centre your face"
            Guidance.HOLD_STILL -> "Hold still (${f.usable}/${f.needed})"
            Guidance.TOO_DARK -> "Find more light"
            Guidance.TOO_BRIGHT, Guidance.MOVE_OUT_OF_LIGHT -> "Move out of the direct light"
            Guidance.TURN_LEFT -> "Turn your head to your left"
            Guidance.TURN_RIGHT -> "Turn your head to your right"
            Guidance.TURN_UP -> "Tilt your head up"
            Guidance.TURN_DOWN -> "Tilt your head down"
            Guidance.DONE -> "Done"
            Guidance.OTHER -> f.instruction
        }

        fun refusal(reasons: List<RefusalReason>) = when {
            RefusalReason.CHALLENGE_FAILED in reasons -> "Please follow the movements shown"
            RefusalReason.TEMPORAL_MULTIPLE_FACES in reasons -> "Only you in the picture, please"
            RefusalReason.TEMPORAL_FACE_MISSING in reasons -> "Keep your face in view"
            else -> "Please present your own face to the camera"
        }
    }
}
