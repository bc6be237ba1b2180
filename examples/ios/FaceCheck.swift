// iOS: enrol a person from two camera frames, then verify a third, with the
// faceseal Swift bindings (bindings/swift: the Faceseal package, linked
// against libfaceseal.a built for aarch64-apple-ios).
//
// Frames come from AVCaptureVideoDataOutput as 32BGRA pixel buffers: the
// bytes and the row stride go to the engine as they are. Call from a
// background queue: calls block until the result, the deadline or Busy.
import CoreVideo
import Faceseal
import Foundation

final class FaceCheck {
    // One engine per app: models load once; calls from any thread queue up.
    private let engine: FaceEngine

    init(modelDir: String, tenantPublicKey: Data, templateSecret: Data) throws {
        engine = try FaceEngine(settings: EngineSettings(
            modelDirs: [modelDir],  // the models in the app bundle
            tenantId: "acme",
            tenantPublicKey: tenantPublicKey,  // from your server
            templateSecret: templateSecret,  // from the Keychain
            keyVersion: 1,
            workers: 1,
            queueDepth: 4,
            timeoutMs: 3000,
            livenessThreshold: nil,
            matchThreshold: nil
        ))
    }

    /// A camera frame from a 32BGRA pixel buffer; `rotation` makes it upright.
    static func frame(_ buffer: CVPixelBuffer, rotation: Int32) -> Frame {
        CVPixelBufferLockBaseAddress(buffer, .readOnly)
        defer { CVPixelBufferUnlockBaseAddress(buffer, .readOnly) }
        let stride = CVPixelBufferGetBytesPerRow(buffer)
        let height = CVPixelBufferGetHeight(buffer)
        let bytes = Data(bytes: CVPixelBufferGetBaseAddress(buffer)!, count: stride * height)
        return .raw(
            data: bytes, width: UInt32(CVPixelBufferGetWidth(buffer)), height: UInt32(height),
            stride: UInt32(stride), format: .bgra, rotationDegrees: rotation)
    }

    /// Enrols from two frames: the sealed envelope for the server, and the template to keep.
    func enrol(_ first: Frame, _ second: Frame, subjectId: String, consentRef: String) throws -> (sealed: Data, template: Data) {
        let enrolled = try engine.enroll(frames: [first, second], subjectId: subjectId, consentRef: consentRef)
        return (enrolled.sealed, enrolled.template)
    }

    /// Verifies a frame against a kept template and says what to show the user.
    func verify(_ frame: Frame, subjectId: String, consentRef: String, template: Data) -> String {
        do {
            let result = try engine.compareLocal(
                frames: [frame], subjectId: subjectId, consentRef: consentRef, template: template)
            return result.matched ? "Welcome" : "Not recognised"
        } catch FacesealError.NotLive {
            return "Please present your own face"
        } catch FacesealError.LowQuality {
            return "Move closer, face the camera, and check the light"
        } catch FacesealError.Busy {
            return "One moment…"  // retry shortly
        } catch {
            return "Error: \(error)"
        }
    }
}
