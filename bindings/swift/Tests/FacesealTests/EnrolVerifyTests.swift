// The Swift bindings end to end: enrol from two real pictures, verify a
// third of the same person and one of another, and the error cases. For
// machines with a Swift toolchain (`swift test` in bindings/swift); needs
// FACESEAL_MODEL_DIR (model directories, ':'-separated, the project's models/
// included) and FACESEAL_DATA_DIR (the evaluation data).
import Foundation
import XCTest

@testable import Faceseal

final class EnrolVerifyTests: XCTestCase {
    private var engine: FaceEngine!
    private var lfw: URL!

    override func setUpWithError() throws {
        let env = ProcessInfo.processInfo.environment
        guard let models = env["FACESEAL_MODEL_DIR"], let data = env["FACESEAL_DATA_DIR"] else {
            throw XCTSkip("set FACESEAL_MODEL_DIR and FACESEAL_DATA_DIR")
        }
        lfw = URL(fileURLWithPath: data).appendingPathComponent("lfw/images")
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
            matchThreshold: nil
        )
        engine = try FaceEngine(settings: settings)
    }

    private func picture(_ path: String) throws -> Frame {
        .encoded(bytes: try Data(contentsOf: lfw.appendingPathComponent(path)))
    }

    func testEnrolThenVerify() throws {
        let enrolled = try engine.enroll(
            frames: [try picture("Tony_Blair/Tony_Blair_0018.jpg"), try picture("Tony_Blair/Tony_Blair_0064.jpg")],
            subjectId: "subject-0042",
            consentRef: "consent-2024-0042"
        )
        XCTAssertGreaterThan(enrolled.sealed.count, 100)
        let same = try engine.compareLocal(
            frames: [try picture("Tony_Blair/Tony_Blair_0032.jpg")],
            subjectId: "subject-0042", consentRef: "consent-2", template: enrolled.template
        )
        XCTAssertTrue(same.matched)
        let other = try engine.compareLocal(
            frames: [try picture("Abdullah_Gul/Abdullah_Gul_0001.jpg")],
            subjectId: "subject-0042", consentRef: "consent-3", template: enrolled.template
        )
        XCTAssertFalse(other.matched)
        XCTAssertLessThan(other.score, same.score)
        let probe = try engine.probe(
            frames: [try picture("Tony_Blair/Tony_Blair_0032.jpg")],
            subjectId: "subject-0042", consentRef: "consent-4", challenge: Data(repeating: 7, count: 32)
        )
        XCTAssertGreaterThan(probe.count, 100)
    }

    func testErrors() throws {
        XCTAssertThrowsError(try engine.detect(frame: .encoded(bytes: Data([1, 2, 3])))) { error in
            guard case FacesealError.InvalidImage = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(
            try engine.enroll(frames: [try picture("Tony_Blair/Tony_Blair_0018.jpg")], subjectId: "s", consentRef: " ")
        ) { error in
            guard case FacesealError.Consent = error else { return XCTFail("\(error)") }
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
