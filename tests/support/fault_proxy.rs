//! A fault-injecting HTTP/1.1 proxy on 127.0.0.1 that sits in front of any loopback HTTP
//! server (pypiserver, an axum or wiremock fake of the OIDC mint or the GitHub API, ...).
//!
//! Rules pick requests by method and path prefix and count them: "the 2nd POST gets a 503",
//! "every POST to /legacy gets a 308". Everything else is forwarded unchanged (one upstream
//! connection per request). Every request is logged with the headers that matter (framing,
//! auth) and, for multipart uploads, the uploaded file name, so a test can assert that a file
//! reached the index exactly once and was sent with `Content-Length`, never chunked.
//!
//! Plugging in another server: `FaultProxy::start(upstream_port)` and point the client's base
//! URL at `proxy.url()`; add rules with [`FaultProxy::on`], e.g.
//! - GitHub secondary rate limit on an asset upload: `Match::new("POST", "/repos/")` (or the
//!   fake's upload path), `When::Nth(vec![1])`, `Fault::status_with(403, &[("retry-after",
//!   "1")], r#"{"message":"You have exceeded a secondary rate limit"}"#)`;
//! - mint 503: `Match::new("POST", "/_/oidc/mint-token")`, `Fault::status(503)`.
//!
//! The `Host` header is forwarded unchanged, so a fake that builds URLs from it (an
//! `upload_url`, a `Location`) sends the client back through the proxy.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

/// What happens to a request a rule picked.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Read the whole request, do not forward it, answer with this status, headers and body.
    Respond {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Read this many bytes of the body, then reset the connection (RST): nothing reaches
    /// the upstream server.
    ResetMidBody { after: usize },
    /// Forward the request (the upstream stores the file), then reset the connection instead
    /// of answering: the client never learns that it worked.
    DropAfterForward,
    /// Read the request and answer nothing for this long (or until the client hangs up),
    /// then close; nothing reaches the upstream.
    Stall(Duration),
    /// Read the request, answer this status line and headers announcing a body, send a few
    /// bytes of it and then nothing for this long (or until the client hangs up); nothing
    /// reaches the upstream.
    StallBody { status: u16, duration: Duration },
    /// Read the request, answer this status and announce a large body, then send it one
    /// byte per `interval` (never idle long enough for a read timeout) for `total`, then
    /// close; nothing reaches the upstream.
    DripBody {
        status: u16,
        interval: Duration,
        total: Duration,
    },
    /// A slow link: read the body in `step`-byte pieces, pausing after each of the first
    /// `pauses` pieces, then forward it as usual.
    SlowBody {
        step: usize,
        pause: Duration,
        pauses: usize,
    },
    /// A remote index's processing time: forward the request as usual, and answer no earlier
    /// than this long after its body arrived (concurrent requests are held concurrently).
    Hold(Duration),
}

impl Fault {
    pub fn status(status: u16) -> Self {
        Self::Respond {
            status,
            headers: Vec::new(),
            body: format!("injected {status}"),
        }
    }

    pub fn status_with(status: u16, headers: &[(&str, &str)], body: &str) -> Self {
        Self::Respond {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.to_owned(),
        }
    }

    pub fn redirect(status: u16, location: &str) -> Self {
        Self::status_with(status, &[("Location", location)], "")
    }

    fn describe(&self) -> String {
        match self {
            Self::Respond { status, .. } => format!("respond {status}"),
            Self::ResetMidBody { after } => format!("reset after {after} body bytes"),
            Self::DropAfterForward => "forward, then drop the response".to_owned(),
            Self::Stall(duration) => format!("stall {duration:?}"),
            Self::DripBody { status, total, .. } => {
                format!("respond {status}, then drip the body for {total:?}")
            }
            Self::StallBody { status, duration } => {
                format!("respond {status}, then stall the body {duration:?}")
            }
            Self::SlowBody { pause, pauses, .. } => format!("slow body ({pauses} x {pause:?})"),
            Self::Hold(duration) => format!("held {duration:?}"),
        }
    }
}

/// Which requests a rule counts: a method (empty: any) and a path prefix.
#[derive(Debug, Clone)]
pub struct Match {
    pub method: String,
    pub path_prefix: String,
}

impl Match {
    pub fn new(method: &str, path_prefix: &str) -> Self {
        Self {
            method: method.to_owned(),
            path_prefix: path_prefix.to_owned(),
        }
    }

    /// Every POST (the legacy upload API posts every file to one URL).
    pub fn post() -> Self {
        Self::new("POST", "/")
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        (self.method.is_empty() || self.method.eq_ignore_ascii_case(method))
            && path.starts_with(&self.path_prefix)
    }
}

/// When a rule fires, counting only the requests it matches (1 = the first).
#[derive(Debug, Clone)]
pub enum When {
    Nth(Vec<usize>),
    Always,
}

#[derive(Debug)]
struct Rule {
    matcher: Match,
    when: When,
    fault: Fault,
    seen: usize,
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub content_length: Option<u64>,
    pub chunked: bool,
    /// Body bytes received (after de-chunking).
    pub body_len: usize,
    pub has_authorization: bool,
    /// For a multipart upload: the `filename` of the `content` part.
    pub file_name: Option<String>,
    /// The injected fault, if any.
    pub fault: Option<String>,
    /// The upstream's status when the request was forwarded.
    pub upstream_status: Option<u16>,
    /// When the request's head arrived.
    pub started: std::time::Instant,
    /// When the answer was sent (forwarded requests only).
    pub answered: Option<std::time::Instant>,
}

#[derive(Debug, Default)]
struct State {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
}

/// The proxy; stops when dropped.
pub struct FaultProxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FaultProxy {
    pub fn start(upstream_port: u16) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // A small receive buffer (inherited by every accepted connection): a slow reader then
        // slows the client down as a distant server does, instead of the kernel taking in
        // several MiB on the proxy's behalf (Linux autotunes loopback buffers up to 6 MiB,
        // which let a 12 MiB upload leave the client long before the proxy read it).
        let listener = runtime
            .block_on(async {
                let socket = tokio::net::TcpSocket::new_v4()?;
                socket.set_recv_buffer_size(128 * 1024)?;
                socket.bind(("127.0.0.1".parse::<std::net::IpAddr>().unwrap(), 0).into())?;
                socket.listen(1024)
            })
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(stream, upstream_port, state).await;
                });
            }
        });
        Self {
            port,
            state,
            runtime: Some(runtime),
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Add a rule; rules are tried in order and the first that fires wins.
    pub fn on(&self, matcher: Match, when: When, fault: Fault) -> &Self {
        self.state.lock().unwrap().rules.push(Rule {
            matcher,
            when,
            fault,
            seen: 0,
        });
        self
    }

    /// Every request so far, in arrival order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.lock().unwrap().seen.clone()
    }

    /// How often each file was accepted by the upstream (forwarded and answered 2xx).
    pub fn stored_counts(&self) -> std::collections::BTreeMap<String, usize> {
        let mut counts = std::collections::BTreeMap::new();
        for seen in self.seen() {
            if let (Some(name), Some(status)) = (&seen.file_name, seen.upstream_status) {
                if (200..300).contains(&status) {
                    *counts.entry(name.clone()).or_insert(0) += 1;
                }
            }
        }
        counts
    }

    /// Every upload was framed with `Content-Length` matching the body, never chunked.
    pub fn assert_uploads_had_content_length(&self) {
        let uploads: Vec<Seen> = self
            .seen()
            .into_iter()
            .filter(|seen| seen.file_name.is_some())
            .collect();
        assert!(!uploads.is_empty(), "no upload went through the proxy");
        for seen in uploads {
            assert!(!seen.chunked, "chunked upload: {seen:?}");
            let fully_read = !matches!(&seen.fault, Some(f) if f.starts_with("reset"));
            if fully_read {
                assert_eq!(
                    seen.content_length,
                    Some(seen.body_len as u64),
                    "Content-Length must announce the body: {seen:?}"
                );
            } else {
                assert!(seen.content_length.is_some(), "no Content-Length: {seen:?}");
            }
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

pub(crate) struct Head {
    pub method: String,
    pub path: String,
    pub lines: Vec<(String, String)>,
    pub request_line: String,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.lines
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

pub(crate) async fn read_head(reader: &mut BufReader<TcpStream>) -> std::io::Result<Option<Head>> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).await? == 0 {
        return Ok(None);
    }
    let request_line = request_line.trim_end().to_owned();
    let mut parts = request_line.split(' ');
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once(':') {
            lines.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    Ok(Some(Head {
        method,
        path,
        lines,
        request_line,
    }))
}

pub(crate) async fn read_chunked(
    reader: &mut BufReader<impl tokio::io::AsyncRead + Unpin>,
) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.read_line(&mut size_line).await?;
        let size = usize::from_str_radix(size_line.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(std::io::Error::other)?;
        if size == 0 {
            // Trailers up to the empty line.
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).await? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).await?;
        let mut crlf = [0_u8; 2];
        reader.read_exact(&mut crlf).await?;
    }
}

/// The `filename="..."` of a multipart part named `content`.
fn upload_file_name(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(&body[..body.len().min(1 << 20)]);
    let at = text.find("name=\"content\"")?;
    let rest = &text[at..];
    let start = rest.find("filename=\"")? + "filename=\"".len();
    let end = rest[start..].find('"')? + start;
    Some(rest[start..end].to_owned())
}

fn decide(state: &Mutex<State>, head: &Head) -> Option<Fault> {
    let mut state = state.lock().unwrap();
    let mut chosen = None;
    for rule in &mut state.rules {
        if !rule.matcher.matches(&head.method, &head.path) {
            continue;
        }
        rule.seen += 1;
        let fires = match &rule.when {
            When::Always => true,
            When::Nth(numbers) => numbers.contains(&rule.seen),
        };
        if fires && chosen.is_none() {
            chosen = Some(rule.fault.clone());
        }
    }
    chosen
}

pub(crate) fn reason(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Status")
}

fn reset(reader: BufReader<TcpStream>) {
    let stream = reader.into_inner();
    #[expect(deprecated, reason = "SO_LINGER 0 is exactly how a test sends an RST")]
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
}

async fn serve(
    stream: TcpStream,
    upstream_port: u16,
    state: Arc<Mutex<State>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let Some(head) = read_head(&mut reader).await? else {
            return Ok(());
        };
        let fault = decide(&state, &head);
        let chunked = head
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let content_length = head
            .header("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        let mut seen = Seen {
            method: head.method.clone(),
            path: head.path.clone(),
            content_length,
            chunked,
            body_len: 0,
            has_authorization: head.header("authorization").is_some(),
            file_name: None,
            fault: fault.as_ref().map(Fault::describe),
            upstream_status: None,
            started: std::time::Instant::now(),
            answered: None,
        };
        if head
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
        {
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await?;
        }

        if let Some(Fault::ResetMidBody { after }) = &fault {
            let wanted = usize::try_from(content_length.unwrap_or(0))
                .unwrap_or(usize::MAX)
                .min(*after);
            let mut partial = vec![0_u8; wanted];
            let _ = reader.read_exact(&mut partial).await;
            seen.body_len = wanted;
            seen.file_name = upload_file_name(&partial);
            state.lock().unwrap().seen.push(seen);
            reset(reader);
            return Ok(());
        }

        let body = if chunked {
            read_chunked(&mut reader).await?
        } else if let Some(Fault::SlowBody {
            step,
            pause,
            pauses,
        }) = &fault
        {
            let length = usize::try_from(content_length.unwrap_or(0)).unwrap_or(0);
            let mut body = vec![0_u8; length];
            let mut read = 0;
            let mut paused = 0;
            while read < length {
                let end = (read + step).min(length);
                reader.read_exact(&mut body[read..end]).await?;
                read = end;
                if paused < *pauses {
                    paused += 1;
                    tokio::time::sleep(*pause).await;
                }
            }
            body
        } else {
            let mut body = vec![0_u8; usize::try_from(content_length.unwrap_or(0)).unwrap_or(0)];
            reader.read_exact(&mut body).await?;
            body
        };
        seen.body_len = body.len();
        seen.file_name = upload_file_name(&body);
        let closes = head
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));

        match fault {
            Some(Fault::Respond {
                status,
                headers,
                body: text,
            }) => {
                state.lock().unwrap().seen.push(seen);
                let mut response = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                for (key, value) in headers {
                    response.push_str(&format!("{key}: {value}\r\n"));
                }
                response.push_str(&format!(
                    "Content-Type: text/plain\r\nContent-Length: {}\r\n\r\n{text}",
                    text.len()
                ));
                reader.get_mut().write_all(response.as_bytes()).await?;
            }
            Some(Fault::Stall(duration)) => {
                state.lock().unwrap().seen.push(seen);
                let mut probe = [0_u8; 1];
                // Ends early when the client gives up and closes the connection.
                let _ = tokio::time::timeout(duration, reader.read(&mut probe)).await;
                return Ok(());
            }
            Some(Fault::StallBody { status, duration }) => {
                state.lock().unwrap().seen.push(seen);
                let response = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\nthe start of a body",
                    reason(status)
                );
                reader.get_mut().write_all(response.as_bytes()).await?;
                let mut probe = [0_u8; 1];
                let _ = tokio::time::timeout(duration, reader.read(&mut probe)).await;
                return Ok(());
            }
            Some(Fault::DripBody {
                status,
                interval,
                total,
            }) => {
                state.lock().unwrap().seen.push(seen);
                let response = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: text/html\r\nContent-Length: 10000000\r\n\r\n",
                    reason(status)
                );
                reader.get_mut().write_all(response.as_bytes()).await?;
                let end = tokio::time::Instant::now() + total;
                while tokio::time::Instant::now() < end {
                    if reader.get_mut().write_all(b" ").await.is_err() {
                        return Ok(());
                    }
                    tokio::time::sleep(interval).await;
                }
                return Ok(());
            }
            Some(Fault::DropAfterForward) => {
                let upstream = forward(upstream_port, &head, &body).await;
                seen.upstream_status = upstream.as_ref().ok().map(|(status, _)| *status);
                state.lock().unwrap().seen.push(seen);
                reset(reader);
                return Ok(());
            }
            Some(Fault::ResetMidBody { .. }) => unreachable!("handled before reading the body"),
            None | Some(Fault::SlowBody { .. } | Fault::Hold(_)) => {
                let ready = match fault {
                    Some(Fault::Hold(duration)) => Some(tokio::time::Instant::now() + duration),
                    _ => None,
                };
                let upstream = forward(upstream_port, &head, &body).await;
                if let Some(ready) = ready {
                    tokio::time::sleep_until(ready).await;
                }
                if let Ok((status, response)) = upstream {
                    seen.upstream_status = Some(status);
                    seen.answered = Some(std::time::Instant::now());
                    state.lock().unwrap().seen.push(seen);
                    reader.get_mut().write_all(&response).await?;
                } else {
                    state.lock().unwrap().seen.push(seen);
                    let text = "the upstream server is not reachable";
                    let response = format!(
                        "HTTP/1.1 502 Bad Gateway\r\nContent-Length: {}\r\n\r\n{text}",
                        text.len()
                    );
                    reader.get_mut().write_all(response.as_bytes()).await?;
                }
            }
        }
        if closes {
            return Ok(());
        }
    }
}

/// Send one request upstream on a fresh connection; return the status and the response
/// re-framed for the client (`Content-Length`, keep-alive).
async fn forward(port: u16, head: &Head, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    let mut upstream = TcpStream::connect(("127.0.0.1", port)).await?;
    let mut request = format!("{}\r\n", head.request_line);
    for (key, value) in &head.lines {
        let lower = key.to_ascii_lowercase();
        if matches!(
            lower.as_str(),
            "connection" | "keep-alive" | "transfer-encoding" | "content-length" | "expect"
        ) {
            continue;
        }
        request.push_str(&format!("{key}: {value}\r\n"));
    }
    request.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    upstream.write_all(request.as_bytes()).await?;
    upstream.write_all(body).await?;
    let mut reader = BufReader::new(upstream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line).await?;
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).await? == 0 {
            break;
        }
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        headers.push(line);
    }
    let chunked = headers.iter().any(|line| {
        line.to_ascii_lowercase().starts_with("transfer-encoding:")
            && line.to_ascii_lowercase().contains("chunked")
    });
    let response_body = if chunked {
        read_chunked(&mut reader).await?
    } else {
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await?;
        if let Some(length) = headers.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        }) {
            rest.truncate(length);
        }
        rest
    };
    let mut response = format!("{}\r\n", status_line.trim_end());
    for line in headers {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:")
            || lower.starts_with("transfer-encoding:")
            || lower.starts_with("content-length:")
            || lower.starts_with("keep-alive:")
        {
            continue;
        }
        response.push_str(&line);
        response.push_str("\r\n");
    }
    let head_only = head.method.eq_ignore_ascii_case("HEAD");
    response.push_str(&format!("Content-Length: {}\r\n\r\n", response_body.len()));
    let mut bytes = response.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&response_body);
    }
    Ok((status, bytes))
}
