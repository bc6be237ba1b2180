// Capture sessions through the Swift bindings, on real NUAA webcam bursts:
// a live burst seals, a printed-photo burst is refused with its reasons and
// scores, and misuse of a session is its own typed error. The same cases as
// bindings/kotlin/tests/CaptureSession.kt. For machines with a Swift
// toolchain (`swift test` in bindings/swift); needs FACESEAL_MODEL_DIR and
// FACESEAL_DATA_DIR.
import Foundation
import XCTest

@testable import Faceseal

final class CaptureSessionTests: XCTestCase {
    private var engine: FaceEngine!
    private var data: URL!

    override func setUpWithError() throws {
        let env = ProcessInfo.processInfo.environment
        guard let models = env["FACESEAL_MODEL_DIR"], let dataDir = env["FACESEAL_DATA_DIR"] else {
            throw XCTSkip("set FACESEAL_MODEL_DIR and FACESEAL_DATA_DIR")
        }
        data = URL(fileURLWithPath: dataDir)
        engine = try FaceEngine(settings: EngineSettings(
            modelDirs: models.split(separator: ":").map(String.init),
            tenantId: "acme",
            // RFC 7748's test public key: a real app uses its tenant's key.
            tenantPublicKey: Data(
                [0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
                 0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a]),
            templateSecret: Data(repeating: 0x5a, count: 32),
            keyVersion: 1,
            workers: 1,
            queueDepth: 4,
            timeoutMs: 600_000,
            livenessThreshold: nil,
            matchThreshold: nil
        ))
    }

    /// The first `n` frames of a NUAA session, in order, with capture times
    /// (NUAA numbers its webcam frames at about 20 a second).
    private func burst(_ list: String, _ dir: String, _ prefix: String, _ n: Int) throws -> [(Frame, UInt64)] {
        let root = data.appendingPathComponent("nuaa")
        let lines = try String(contentsOf: root.appendingPathComponent(list), encoding: .utf8)
            .split(separator: "\n").map(String.init)
            .filter { $0.split(separator: "/").count == 2 && $0.split(separator: "/")[1].hasPrefix(prefix) }
        let numbered = lines.map { line -> (String, UInt64) in
            let number = UInt64(line.replacingOccurrences(of: ".jpg", with: "").split(separator: "_").last!)!
            return (line, number * 50)
        }.sorted { $0.1 < $1.1 }.prefix(n)
        return try numbered.map { line, t in
            (.encoded(bytes: try Data(contentsOf: root.appendingPathComponent("\(dir)/\(line)"))), t)
        }
    }

    private func config(expiryMs: UInt64 = 60_000) -> CaptureConfig {
        CaptureConfig(
            purpose: .enrol, subjectId: "subject-0003", consentRef: "consent-2026-0003",
            challenge: Data(repeating: 7, count: 32), level: .standard, expiryMs: expiryMs)
    }

    func testLiveBurstSeals() throws {
        let session = try engine.startCapture(config: config())
        var last: FrameFeedback?
        for (frame, t) in try burst("clientraw_train.txt", "ClientRaw", "0003_01_00_01", 5) {
            last = try session.pushFrame(frame: frame, timestampMs: t)
        }
        XCTAssertEqual(last?.guidance, .done)
        let result = try session.finish()
        XCTAssertGreaterThan(result.sealed.count, 100)
        XCTAssertFalse(result.template.isEmpty)
        XCTAssertTrue(result.decision.live)
        XCTAssertThrowsError(try session.finish()) { error in
            guard case CaptureError.Finished = error else { return XCTFail("\(error)") }
        }
    }

    func testPrintAttackIsRefusedWithReasons() throws {
        let session = try engine.startCapture(config: config())
        for (frame, t) in try burst("imposterraw_train.txt", "ImposterRaw", "0003_01_00_01", 5) {
            _ = try session.pushFrame(frame: frame, timestampMs: t)
        }
        XCTAssertThrowsError(try session.finish()) { error in
            guard case let CaptureError.NotLive(reasons, scores) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(reasons.contains(.passiveSpoof))
            XCTAssertLessThan(scores.score, 0.5)
        }
    }

    func testMisuseIsTyped() throws {
        let frames = try burst("clientraw_train.txt", "ClientRaw", "0003_01_00_01", 2)
        let session = try engine.startCapture(config: config())
        _ = try session.pushFrame(frame: frames[1].0, timestampMs: frames[1].1)
        XCTAssertThrowsError(try session.pushFrame(frame: frames[0].0, timestampMs: frames[0].1)) { error in
            guard case let CaptureError.FrameOutOfOrder(given, last) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(given, frames[0].1)
            XCTAssertEqual(last, frames[1].1)
        }
        XCTAssertThrowsError(try session.finish()) { error in
            guard case let CaptureError.NotEnoughFrames(given, needed) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(given, 1)
            XCTAssertEqual(needed, 5)
        }
        let other = data.appendingPathComponent("lfw/images/Tony_Blair/Tony_Blair_0018.jpg")
        XCTAssertThrowsError(
            try session.pushFrame(frame: .encoded(bytes: try Data(contentsOf: other)), timestampMs: 100_000)
        ) { error in
            guard case CaptureError.FrameSizeChanged = error else { return XCTFail("\(error)") }
        }

        let expired = try engine.startCapture(config: config(expiryMs: 1))
        Thread.sleep(forTimeInterval: 0.02)
        XCTAssertThrowsError(try expired.pushFrame(frame: frames[0].0, timestampMs: 0)) { error in
            guard case CaptureError.Expired = error else { return XCTFail("\(error)") }
        }
    }
}
