// iOS: enrol or verify a person through a capture session, with the faceseal
// Swift bindings (bindings/swift: the Faceseal package, linked against
// libfaceseal.a built for aarch64-apple-ios).
//
// The flow (sync/README.md, "Device capture flow"):
//   1. the app's own backend, which holds the tenant's API key, gives the
//      tenant's bundle and, per operation, a challenge from the server
//      (POST /v1/challenges naming the subject) with its capture token;
//   2. camera frames go into a CaptureSession with their capture times, and
//      each frame's guidance is shown to the person;
//   3. `finish` seals the template with the challenge; the device posts the
//      envelope to the server with `Authorization: Capture <token>` (never
//      the API key) and the server answers only that it received it;
//   4. the backend reads the decision (GET /v1/challenges/{id}).
//
// Frames come from AVCaptureVideoDataOutput as 32BGRA pixel buffers: the
// bytes and the row stride go to the session as they are. Call `capture`
// from a background queue: each call blocks until its result.
import CoreVideo
import Faceseal
import Foundation

/// The tenant's key bundle, as the backend got it from `GET /v1/bundle`.
struct Bundle {
    let tenantId: String
    /// The X25519 public key (`public_key`, 32 bytes).
    let publicKey: Data
    /// `template.m`, `template.q`, `template.key_version`.
    let m: UInt16
    let q: UInt16
    let keyVersion: UInt32
    /// `liveness_level`: the level the server holds every envelope to.
    let level: SecurityLevel
}

/// One operation's challenge, handed to the device by the backend.
struct DeviceChallenge {
    let challengeId: String
    /// The server's 32-byte nonce.
    let nonce: Data
    /// Single use, for this challenge only (`fsc_…`).
    let captureToken: String
    /// The subject's consent reference for this purpose.
    let consentRef: String
}

/// What became of the operation, as the backend read it.
struct Decision {
    let outcome: String
    let matched: Bool?
}

/// The app's own backend (it holds the API key; the device never does).
protocol AppBackend {
    func bundle() throws -> Bundle
    func challenge(purpose: CapturePurpose, subjectId: String) throws -> DeviceChallenge
    func decision(challengeId: String) throws -> Decision
}

/// The camera: frames as they arrive, with their capture times (ms).
protocol Camera {
    func next() -> (frame: Frame, timestampMs: UInt64)?
    func stop()
}

/// How a capture ended, for the app to show.
enum Outcome {
    case decided(Decision)
    /// Refused on the device: nothing was sent.
    case refused(String)
    /// The server refused the envelope (HTTP status and body).
    case rejected(status: Int, body: String)
}

final class FaceCheck {
    private let server: URL
    private let backend: AppBackend
    private let bundle: Bundle
    // One engine per app: models load once; calls from any thread queue up.
    private let engine: FaceEngine

    init(modelDir: String, server: URL, backend: AppBackend, templateSecret: Data) throws {
        self.server = server
        self.backend = backend
        bundle = try backend.bundle()
        engine = try FaceEngine(settings: EngineSettings(
            modelDirs: [modelDir],  // the models in the app bundle
            tenantId: bundle.tenantId,
            tenantPublicKey: bundle.publicKey,
            templateSecret: templateSecret,  // from the Keychain
            keyVersion: bundle.keyVersion,
            templateM: bundle.m,
            templateQ: bundle.q,
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

    /// Enrols (`.enrol`) or verifies (`.verify`) the subject from the camera;
    /// `show` puts each instruction on the screen.
    func capture(purpose: CapturePurpose, subjectId: String, camera: Camera, show: (String) -> Void) throws -> Outcome {
        let challenge = try backend.challenge(purpose: purpose, subjectId: subjectId)
        let config = CaptureConfig(
            purpose: purpose, subjectId: subjectId, consentRef: challenge.consentRef,
            challenge: challenge.nonce, level: bundle.level)
        let sealed: Data
        do {
            let session = try engine.startCapture(config: config)
            let steps = session.challengeSteps()
            if !steps.isEmpty {
                show("You will be asked to " + steps.map(FaceCheck.turn).joined(separator: ", then "))
            }
            while let next = camera.next() {
                let feedback: FrameFeedback
                do {
                    feedback = try session.pushFrame(frame: next.frame, timestampMs: next.timestampMs)
                } catch CaptureError.Busy {
                    continue  // the engine is still on an earlier frame: skip this one
                }
                show(FaceCheck.text(feedback))
                if feedback.guidance == .done { break }
            }
            camera.stop()
            sealed = try session.finish().sealed
        } catch CaptureError.NotLive(let reasons, _) {
            return .refused(FaceCheck.refusal(reasons))
        } catch CaptureError.NoUsableFace {
            return .refused("No clear picture of your face: face the camera in good light")
        } catch CaptureError.NotEnoughFrames {
            return .refused("The camera stopped too early: try again")
        } catch CaptureError.Expired {
            return .refused("That took too long: try again")
        }
        let route = purpose == .enrol ? "v1/enrolments" : "v1/verifications"
        let (status, body) = try post(route: route, captureToken: challenge.captureToken, envelope: sealed)
        guard (200..<300).contains(status) else { return .rejected(status: status, body: body) }
        return .decided(try backend.decision(challengeId: challenge.challengeId))
    }

    /// The device's one request: the envelope, with the capture token alone.
    private func post(route: String, captureToken: String, envelope: Data) throws -> (Int, String) {
        var request = URLRequest(url: server.appendingPathComponent(route))
        request.httpMethod = "POST"
        request.setValue("Capture \(captureToken)", forHTTPHeaderField: "Authorization")
        request.setValue("application/octet-stream", forHTTPHeaderField: "Content-Type")
        request.httpBody = envelope
        var answer: (Int, String) = (0, "")
        var failure: Error?
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            failure = error
            let status = (response as? HTTPURLResponse)?.statusCode ?? 0
            answer = (status, data.map { String(decoding: $0, as: UTF8.self) } ?? "")
            done.signal()
        }.resume()
        done.wait()
        if let failure = failure { throw failure }
        return answer
    }

    private static func turn(_ t: HeadTurn) -> String {
        switch t {
        case .left: return "turn left"
        case .right: return "turn right"
        case .up: return "look up"
        case .down: return "look down"
        }
    }

    /// Your own strings, per guidance (the bindings' `instruction` is English).
    private static func text(_ f: FrameFeedback) -> String {
        switch f.guidance {
        case .noFace: return "Look at the camera"
        case .multipleFaces: return "Only you in the picture, please"
        case .moveCloser: return "Move closer"
        case .moveBack: return "Move back a little"
        case .centreFace: return "Centre your face"
        case .holdStill: return "Hold still (\(f.usable)/\(f.needed))"
        case .tooDark: return "Find more light"
        case .tooBright, .moveOutOfLight: return "Move out of the direct light"
        case .turnLeft: return "Turn your head to your left"
        case .turnRight: return "Turn your head to your right"
        case .turnUp: return "Tilt your head up"
        case .turnDown: return "Tilt your head down"
        case .done: return "Done"
        case .other: return f.instruction
        }
    }

    private static func refusal(_ reasons: [RefusalReason]) -> String {
        if reasons.contains(.challengeFailed) { return "Please follow the movements shown" }
        if reasons.contains(.temporalMultipleFaces) { return "Only you in the picture, please" }
        if reasons.contains(.temporalFaceMissing) { return "Keep your face in view" }
        return "Please present your own face to the camera"
    }
}
