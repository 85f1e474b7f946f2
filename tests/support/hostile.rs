//! A hostile HTTP/1.1 peer on 127.0.0.1 that plays whatever the test scripts: the index (simple
//! pages, uploads, `/_/oidc/*`), GitHub's OIDC token endpoint, the GitHub API, Fulcio or Rekor.
//! It answers at the byte level, so it can do what no honest server does: endless bodies,
//! bodies dripped one byte at a time, headers that trickle and never end, redirects anywhere,
//! messages full of line breaks and workflow commands. Every request is recorded with its
//! headers (to prove where credentials went). Stopped on drop.
//!
//! Scripts: [`Hostile::on`] a method and path prefix with a list of [`Play`]s; the n-th matching
//! request gets the n-th play, the last one repeats. Unscripted requests get 404.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::{TcpListener, TcpStream};

use super::fault_proxy::{read_chunked, read_head, reason};

/// One answer.
#[derive(Debug, Clone)]
pub enum Play {
    /// A complete answer.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Status, headers, `prefix`, then filler bytes as fast as the client takes them, forever
    /// (chunked, never terminated): an endless body.
    Endless {
        status: u16,
        content_type: String,
        prefix: Vec<u8>,
    },
    /// Status and headers (chunked, no length), then one byte per `interval`, forever.
    Drip {
        status: u16,
        content_type: String,
        interval: Duration,
    },
    /// The status line, then header bytes one per `interval`, never finishing the head.
    TrickleHead { interval: Duration },
}

impl Play {
    pub fn json(status: u16, value: &serde_json::Value) -> Self {
        Self::Answer {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: value.to_string().into_bytes(),
        }
    }

    pub fn text(status: u16, content_type: &str, body: &str) -> Self {
        Self::Answer {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: body.as_bytes().to_vec(),
        }
    }

    pub fn redirect(status: u16, location: &str) -> Self {
        Self::Answer {
            status,
            headers: vec![("Location".into(), location.into())],
            body: Vec::new(),
        }
    }

    pub fn endless(status: u16, content_type: &str, prefix: &str) -> Self {
        Self::Endless {
            status,
            content_type: content_type.into(),
            prefix: prefix.as_bytes().to_vec(),
        }
    }

    pub fn drip(status: u16, content_type: &str, interval: Duration) -> Self {
        Self::Drip {
            status,
            content_type: content_type.into(),
            interval,
        }
    }
}

/// A request the peer received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    /// Every value of a header (a request may carry one twice).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
            .collect()
    }
}

struct Route {
    method: String,
    prefix: String,
    plays: Vec<Play>,
    served: usize,
}

#[derive(Default)]
struct State {
    routes: Vec<Route>,
    received: Vec<Received>,
}

/// The peer; stops when dropped.
pub struct Hostile {
    pub port: u16,
    state: Arc<Mutex<State>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Hostile {
    pub fn start() -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(TcpListener::bind(("127.0.0.1", 0)))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::clone(&state);
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let _ = serve(stream, state).await;
                });
            }
        });
        Self {
            port,
            state,
            runtime: Some(runtime),
        }
    }

    /// `http://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    /// Script the answers to `method` (empty: any) requests whose path starts with `prefix`.
    /// Routes are tried in the order they were added.
    pub fn on(&self, method: &str, prefix: &str, plays: Vec<Play>) -> &Self {
        assert!(!plays.is_empty(), "a route needs at least one play");
        self.state.lock().unwrap().routes.push(Route {
            method: method.to_owned(),
            prefix: prefix.to_owned(),
            plays,
            served: 0,
        });
        self
    }

    /// Every request so far, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

fn choose(state: &Mutex<State>, method: &str, path: &str) -> Option<Play> {
    let mut state = state.lock().unwrap();
    let route = state.routes.iter_mut().find(|route| {
        (route.method.is_empty() || route.method.eq_ignore_ascii_case(method))
            && path.starts_with(&route.prefix)
    })?;
    let play = route.plays[route.served.min(route.plays.len() - 1)].clone();
    route.served += 1;
    Some(play)
}

async fn serve(stream: TcpStream, state: Arc<Mutex<State>>) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let Some(head) = read_head(&mut reader).await? else {
            return Ok(());
        };
        let chunked = head
            .header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        if head
            .header("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
        {
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await?;
        }
        let body = if chunked {
            read_chunked(&mut reader).await?
        } else {
            let length = head
                .header("content-length")
                .and_then(|v| v.parse::<usize>().ok())
                .unwrap_or(0);
            let mut body = vec![0_u8; length];
            reader.read_exact(&mut body).await?;
            body
        };
        let play = choose(&state, &head.method, &head.path);
        state.lock().unwrap().received.push(Received {
            method: head.method.clone(),
            path: head.path.clone(),
            headers: head.lines.clone(),
            body,
        });
        let stream = reader.get_mut();
        match play {
            None => {
                stream
                    .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found")
                    .await?;
            }
            Some(Play::Answer {
                status,
                headers,
                body,
            }) => {
                let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
                for (key, value) in headers {
                    head.push_str(&format!("{key}: {value}\r\n"));
                }
                head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(&body).await?;
            }
            Some(Play::Endless {
                status,
                content_type,
                prefix,
            }) => {
                let head = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n",
                    reason(status)
                );
                stream.write_all(head.as_bytes()).await?;
                if !prefix.is_empty() {
                    stream
                        .write_all(format!("{:x}\r\n", prefix.len()).as_bytes())
                        .await?;
                    stream.write_all(&prefix).await?;
                    stream.write_all(b"\r\n").await?;
                }
                let filler = vec![b'a'; 64 * 1024];
                let chunk = [
                    format!("{:x}\r\n", filler.len()).into_bytes(),
                    filler,
                    b"\r\n".to_vec(),
                ]
                .concat();
                // Until the client hangs up (a write fails).
                while stream.write_all(&chunk).await.is_ok() {}
                return Ok(());
            }
            Some(Play::Drip {
                status,
                content_type,
                interval,
            }) => {
                let head = format!(
                    "HTTP/1.1 {status} {}\r\nContent-Type: {content_type}\r\nTransfer-Encoding: chunked\r\n\r\n",
                    reason(status)
                );
                stream.write_all(head.as_bytes()).await?;
                while stream.write_all(b"1\r\n \r\n").await.is_ok() {
                    tokio::time::sleep(interval).await;
                }
                return Ok(());
            }
            Some(Play::TrickleHead { interval }) => {
                stream.write_all(b"HTTP/1.1 200 OK\r\n").await?;
                let mut header = b"X-Slow: ".to_vec();
                header.extend(std::iter::repeat_n(b'a', 1_000_000));
                for byte in header {
                    if stream.write_all(&[byte]).await.is_err() {
                        return Ok(());
                    }
                    tokio::time::sleep(interval).await;
                }
                return Ok(());
            }
        }
    }
}
