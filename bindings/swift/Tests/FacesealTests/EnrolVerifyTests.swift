// The Swift bindings' one-shot calls end to end: enrol from a NUAA live
// burst (the burst liveness decision of a capture session), compare another
// burst of the same person and one of another, and the error cases. For
// machines with a Swift toolchain (`swift test` in bindings/swift); needs
// FACESEAL_MODEL_DIR (model directories, ':'-separated, the project's models/
// included) and FACESEAL_DATA_DIR (the evaluation data).
import Foundation
import XCTest

@testable import Faceseal

final class EnrolVerifyTests: XCTestCase {
    private var engine: FaceEngine!
    private var lfw: URL!
    private var nuaa: URL!
    private let challenge = Data(repeating: 7, count: 32)

    override func setUpWithError() throws {
        let env = ProcessInfo.processInfo.environment
        guard let models = env["FACESEAL_MODEL_DIR"], let data = env["FACESEAL_DATA_DIR"] else {
            throw XCTSkip("set FACESEAL_MODEL_DIR and FACESEAL_DATA_DIR")
        }
        lfw = URL(fileURLWithPath: data).appendingPathComponent("lfw/images")
        nuaa = URL(fileURLWithPath: data).appendingPathComponent("nuaa")
        let settings = EngineSettings(
            modelDirs: models.split(separator: ":").map(String.init),
            tenantId: "acme",
            // RFC 7748's test public key: a real app uses its tenant's key.
            tenantPublicKey: Data(hex: "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
            templateSecret: Data(repeating: 0x5a, count: 32),
            keyVersion: 1,
            workers: 1,
            queueDepth: 4,
            timeoutMs: 0,
            livenessThreshold: nil,
            // LFW's operating point at a false-accept rate of 1e-3.
            matchThreshold: 0.717
        )
        engine = try FaceEngine(settings: settings)
    }

    private func picture(_ path: String) throws -> Frame {
        .encoded(bytes: try Data(contentsOf: lfw.appendingPathComponent(path)))
    }

    /// Frames `range` of a NUAA train session, in frame order, timed at 20 fps.
    private func burst(_ list: String, _ dir: String, _ prefix: String, _ range: Range<Int>) throws -> [TimedFrame] {
        let lines = try String(contentsOf: nuaa.appendingPathComponent(list), encoding: .utf8)
            .split(separator: "\n").map(String.init)
            .filter { $0.split(separator: "/").count == 2 && $0.split(separator: "/")[1].hasPrefix(prefix) }
        func number(_ line: String) -> Int {
            Int(line.replacingOccurrences(of: ".jpg", with: "").split(separator: "_").last!)!
        }
        let sorted = lines.sorted { number($0) < number($1) }
        return try sorted[range].enumerated().map { i, line in
            TimedFrame(
                frame: .encoded(bytes: try Data(contentsOf: nuaa.appendingPathComponent("\(dir)/\(line)"))),
                timestampMs: UInt64(i) * 50)
        }
    }

    func testEnrolThenVerify() throws {
        let enrolled = try engine.enroll(
            frames: try burst("clientraw_train.txt", "ClientRaw", "0003_01_00_01", 0..<5),
            subjectId: "subject-0042", consentRef: "consent-2024-0042", challenge: challenge, level: .standard
        )
        XCTAssertGreaterThan(enrolled.sealed.count, 100)
        let same = try engine.compareLocal(
            frames: try burst("clientraw_train.txt", "ClientRaw", "0003_01_00_01", 5..<10),
            subjectId: "subject-0042", consentRef: "consent-2", challenge: challenge, level: .standard,
            template: enrolled.template
        )
        XCTAssertTrue(same.matched)
        // Person 0006 is one the embedder tells from 0003 at this threshold.
        let other = try engine.compareLocal(
            frames: try burst("clientraw_train.txt", "ClientRaw", "0006_00_00_01", 0..<5),
            subjectId: "subject-0042", consentRef: "consent-3", challenge: challenge, level: .standard,
            template: enrolled.template
        )
        XCTAssertFalse(other.matched)
        XCTAssertLessThan(other.score, same.score)
        let probe = try engine.probe(
            frames: try burst("clientraw_train.txt", "ClientRaw", "0003_01_00_01", 5..<10),
            subjectId: "subject-0042", consentRef: "consent-4", challenge: challenge, level: .standard
        )
        XCTAssertGreaterThan(probe.count, 100)
        XCTAssertThrowsError(
            try engine.probe(
                frames: try burst("imposterraw_train.txt", "ImposterRaw", "0003_01_00_01", 0..<5),
                subjectId: "subject-0042", consentRef: "consent-5", challenge: challenge, level: .standard)
        ) { error in
            guard case CaptureError.NotLive = error else { return XCTFail("\(error)") }
        }
    }

    func testErrors() throws {
        XCTAssertThrowsError(try engine.detect(frame: .encoded(bytes: Data([1, 2, 3])))) { error in
            guard case FacesealError.InvalidImage = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(
            try engine.enroll(
                frames: try burst("clientraw_train.txt", "ClientRaw", "0003_01_00_01", 0..<5),
                subjectId: "s", consentRef: " ", challenge: challenge, level: .standard)
        ) { error in
            guard case CaptureError.Consent = error else { return XCTFail("\(error)") }
        }
        let grey = Frame.raw(
            data: Data(repeating: 127, count: 96 * 96 * 4), width: 96, height: 96, stride: 384,
            format: .bgra, rotationDegrees: 90)
        XCTAssertThrowsError(try engine.checkLiveness(frame: grey)) { error in
            guard case FacesealError.NoFace = error else { return XCTFail("\(error)") }
        }
        let cancel = CancelHandle()
        cancel.cancel()
        XCTAssertThrowsError(try engine.detect(frame: try picture("Tony_Blair/Tony_Blair_0018.jpg"), cancel: cancel)) {
            error in
            guard case FacesealError.Cancelled = error else { return XCTFail("\(error)") }
        }
    }
}

extension Data {
    fileprivate init(hex: String) {
        var bytes = [UInt8]()
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        self.init(bytes)
    }
}
