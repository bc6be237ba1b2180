//! The body of a decision request: header length (4 bytes, big endian), the
//! JSON [`DecisionRequest`], then the partial comparison's bytes.

use faceseal_split::decision::DecisionRequest;
use faceseal_split::server::PartialComparison;

pub fn encode(request: &DecisionRequest, partial: &PartialComparison) -> Vec<u8> {
    let header = serde_json::to_vec(request).expect("requests serialise");
    let mut out = Vec::with_capacity(4 + header.len() + partial.as_bytes().len());
    out.extend_from_slice(&(header.len() as u32).to_be_bytes());
    out.extend_from_slice(&header);
    out.extend_from_slice(partial.as_bytes());
    out
}

pub fn decode(body: &[u8]) -> Option<(DecisionRequest, PartialComparison)> {
    let len = u32::from_be_bytes(body.get(..4)?.try_into().ok()?) as usize;
    let header = body.get(4..4 + len)?;
    let request = serde_json::from_slice(header).ok()?;
    Some((
        request,
        PartialComparison::from_bytes(body[4 + len..].to_vec()),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips_and_truncation_is_refused() {
        let request = DecisionRequest {
            tenant: "t".into(),
            subject: "s".into(),
            request_id: [1; 16],
            nonce: [2; 32],
        };
        let body = encode(&request, &PartialComparison::from_bytes(vec![9, 8, 7]));
        let (r, p) = decode(&body).unwrap();
        assert_eq!(r, request);
        assert_eq!(p.as_bytes(), &[9, 8, 7]);
        assert!(decode(&body[..10]).is_none());
        assert!(decode(&[0, 0]).is_none());
    }
}
