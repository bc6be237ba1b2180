// Android: enrol a person from two camera frames, then verify a third, with
// the faceseal Kotlin bindings (bindings/kotlin; package org.faceseal, with
// libfaceseal.so for arm64-v8a in jniLibs and JNA as a dependency).
//
// Frames come straight from CameraX's ImageAnalysis as NV21 or RGBA
// buffers: no conversion to a Bitmap, no file. Run the calls off the main
// thread: they block until the result, the deadline or Busy.

import org.faceseal.EngineSettings
import org.faceseal.FaceEngine
import org.faceseal.FacesealException
import org.faceseal.Frame
import org.faceseal.PixelFormat

class FaceCheck(modelDir: String, tenantPublicKey: ByteArray, templateSecret: ByteArray) : AutoCloseable {
    // One engine per app: models load once; calls from any thread queue up.
    private val engine = FaceEngine(
        EngineSettings(
            modelDirs = listOf(modelDir), // models copied from the APK's assets
            tenantId = "acme",
            tenantPublicKey = tenantPublicKey, // from your server
            templateSecret = templateSecret, // from the Android Keystore-wrapped store
            keyVersion = 1u,
            workers = 1u,
            queueDepth = 4u,
            timeoutMs = 3000u,
            livenessThreshold = null,
            matchThreshold = null,
        ),
    )

    /** A camera frame: NV21 bytes with the row stride and rotation CameraX reports. */
    fun cameraFrame(nv21: ByteArray, width: Int, height: Int, rowStride: Int, rotationDegrees: Int) =
        Frame.Raw(nv21, width.toUInt(), height.toUInt(), rowStride.toUInt(), PixelFormat.NV21, rotationDegrees)

    /** Enrols from two frames; returns the sealed envelope for the server and the template to keep. */
    fun enrol(first: Frame, second: Frame, subjectId: String, consentRef: String): Pair<ByteArray, ByteArray> {
        val enrolled = engine.enroll(listOf(first, second), subjectId, consentRef)
        return enrolled.sealed to enrolled.template
    }

    /** Verifies a frame against a kept template and says what to show the user. */
    fun verify(frame: Frame, subjectId: String, consentRef: String, template: ByteArray): String =
        try {
            val result = engine.compareLocal(listOf(frame), subjectId, consentRef, template)
            if (result.matched) "Welcome" else "Not recognised"
        } catch (e: FacesealException.NotLive) {
            "Please present your own face"
        } catch (e: FacesealException.LowQuality) {
            "Move closer, face the camera, and check the light"
        } catch (e: FacesealException.Busy) {
            "One moment…" // retry shortly
        }

    override fun close() = engine.close()
}
