//! The strict single-face path on real pictures: each gate refuses what it
//! must, and a live, well-captured face goes all the way to an embedding.

mod common;

use faceseal_core::PipelineError;
use faceseal_vision::liveness::LivenessReason;

#[test]
fn live_webcam_frame_passes_every_gate() {
    let analyzer = common::analyzer();
    // The live sample published with the liveness models.
    let frame = common::picture("screen_replay/silent_face_samples/image_T1.jpg");
    let analysis = analyzer
        .analyze_single(&frame)
        .expect("a live, frontal face");
    assert!(analysis.liveness.live);
    assert_eq!(analysis.liveness.reason, LivenessReason::Live);
    assert!(analysis.quality.passed());
    assert!(analysis.embedding.norm() > 0.1);
}

#[test]
fn live_face_refused_by_liveness_never_gets_an_embedding() {
    // A live NUAA webcam frame that the single-frame texture models score
    // below the threshold (the known weakness that multi-frame liveness
    // addresses): the operation fails with the liveness decision, and no
    // embedding is produced.
    let analyzer = common::analyzer();
    let frame = common::picture("nuaa/ClientRaw/0001/0001_00_00_01_0.jpg");
    match analyzer.analyze_single(&frame) {
        Err(PipelineError::NotLive(decision)) => {
            assert!(decision.score < decision.threshold);
            assert_eq!(decision.reason, LivenessReason::SpoofSuspected);
        }
        other => panic!("expected NotLive, got {other:?}"),
    }
}

#[test]
fn printed_photo_is_refused_by_liveness_before_embedding() {
    let analyzer = common::analyzer();
    // The sample fakes published with the liveness models.
    for name in ["image_F1.jpg", "image_F2.jpg"] {
        let frame = common::picture(&format!("screen_replay/silent_face_samples/{name}"));
        let faces = analyzer.detect(&frame).unwrap();
        let decision = analyzer.liveness(&frame, &faces[0]).unwrap();
        assert!(!decision.live, "{name}: {decision:?}");
        assert_eq!(decision.reason, LivenessReason::SpoofSuspected);
    }
}

#[test]
fn picture_without_a_face() {
    let analyzer = common::analyzer();
    let frame = common::picture("negatives/imagenet_animals_nature/n01518878_ostrich.JPEG");
    assert!(matches!(
        analyzer.analyze_single(&frame),
        Err(PipelineError::NoFace)
    ));
}

#[test]
fn group_photo_is_refused_where_one_face_is_required() {
    let analyzer = common::analyzer();
    let frame = common::picture("multiface/000_5.jpg");
    match analyzer.analyze_single(&frame) {
        Err(PipelineError::MultipleFaces { count }) => assert!(count >= 2, "{count}"),
        other => panic!("expected MultipleFaces, got {other:?}"),
    }
}

#[test]
fn same_person_closer_than_different_people() {
    let analyzer = common::analyzer();
    let embed = |rel: &str| {
        let frame = common::picture(rel);
        let face = analyzer.detect(&frame).unwrap()[0];
        analyzer.embed(&frame, &face).unwrap()
    };
    let a1 = embed("lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg");
    let nuaa_a = embed("nuaa/ClientRaw/0001/0001_00_00_01_0.jpg");
    let nuaa_b = embed("nuaa/ClientRaw/0001/0001_00_00_01_112.jpg");
    let same = analyzer.compare(&nuaa_a, &nuaa_b);
    let different = analyzer.compare(&a1, &nuaa_a);
    assert!(same.same_person, "{same:?}");
    assert!(!different.same_person, "{different:?}");
}
