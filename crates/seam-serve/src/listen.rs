//! Binding every listener before anything runs, then starting one task per listener.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::{TcpListener, UdpSocket};

use crate::config::{ServeConfig, Transport};
use crate::server::{Addresses, ServeError, Shared};
use crate::tls::{Acceptor, Peer};

/// Sockets bound, and certificates read, not yet served.
pub(crate) struct Listeners {
    http: TcpListener,
    http_tls: Acceptor,
    api: Option<TcpListener>,
    udp: Vec<(usize, UdpSocket, usize)>,
    tcp: Vec<(usize, TcpListener, Acceptor, usize)>,
    /// NetFlow/IPFIX sockets, with their decoders' limits.
    flows: Vec<(usize, UdpSocket, seam_adapters::FlowLimits)>,
    /// TLS to the MQTT broker, read at start like the listeners' certificates.
    mqtt_tls: Option<Arc<rustls::ClientConfig>>,
}

/// The receive buffer asked for on syslog and flow UDP sockets (the kernel may grant less).
const UDP_RECEIVE_BUFFER: usize = 16 << 20;

fn bind_error(what: &str, addr: SocketAddr) -> impl FnOnce(std::io::Error) -> ServeError {
    let what = what.to_string();
    move |source| ServeError::Bind { what, addr, source }
}

pub(crate) async fn bind_all(config: &ServeConfig) -> Result<(Listeners, Addresses), ServeError> {
    let listen = config.http.listen;
    let http = TcpListener::bind(listen)
        .await
        .map_err(bind_error("http", listen))?;
    let http_addr = http.local_addr().map_err(bind_error("http", listen))?;
    let (api, api_addr) = match config.http.api {
        // Two `:0` addresses are two listeners: the system picks each its own port.
        Some(addr) if addr != listen || addr.port() == 0 => {
            let api = TcpListener::bind(addr)
                .await
                .map_err(bind_error("api", addr))?;
            let bound = api.local_addr().map_err(bind_error("api", addr))?;
            (Some(api), bound)
        }
        _ => (None, http_addr),
    };
    let http_tls = Acceptor::configured(config.http.tls.as_ref(), Peer::Reads)?;
    let mqtt_tls = match config.mqtt.as_ref().and_then(|m| m.tls.as_ref()) {
        Some(settings) => Some(crate::tls::client_config(settings)?),
        None => None,
    };
    let mut listeners = Listeners {
        http,
        http_tls,
        mqtt_tls,
        api,
        udp: Vec::new(),
        tcp: Vec::new(),
        flows: Vec::new(),
    };
    let mut addresses = Addresses {
        http: http_addr,
        api: api_addr,
        syslog_udp: BTreeMap::new(),
        syslog_tcp: BTreeMap::new(),
        netflow_udp: BTreeMap::new(),
    };
    for (index, source) in config.sources.iter().enumerate() {
        if let Transport::Netflow { udp, limits } = &source.transport {
            let what = format!("netflow udp for `{}`", source.name);
            let socket = bind_udp(*udp).map_err(bind_error(&what, *udp))?;
            let bound = socket.local_addr().map_err(bind_error(&what, *udp))?;
            addresses.netflow_udp.insert(source.name.clone(), bound);
            listeners.flows.push((index, socket, *limits));
            continue;
        }
        let Transport::Syslog {
            udp,
            tcp,
            tls,
            max_message_bytes,
        } = &source.transport
        else {
            continue;
        };
        if let Some(addr) = udp {
            let what = format!("syslog udp for `{}`", source.name);
            let socket = bind_udp(*addr).map_err(bind_error(&what, *addr))?;
            let bound = socket.local_addr().map_err(bind_error(&what, *addr))?;
            addresses.syslog_udp.insert(source.name.clone(), bound);
            listeners.udp.push((index, socket, *max_message_bytes));
        }
        if let Some(addr) = tcp {
            let what = format!("syslog tcp for `{}`", source.name);
            // The same port as the UDP socket when both asked for `:0`, if it is free.
            let same_port = match addresses.syslog_udp.get(&source.name) {
                Some(udp) if addr.port() == 0 && udp.ip() == addr.ip() => Some(*udp),
                _ => None,
            };
            let listener = match same_port {
                Some(same) => match TcpListener::bind(same).await {
                    Ok(listener) => listener,
                    Err(_) => TcpListener::bind(*addr)
                        .await
                        .map_err(bind_error(&what, *addr))?,
                },
                None => TcpListener::bind(*addr)
                    .await
                    .map_err(bind_error(&what, *addr))?,
            };
            let addr = *addr;
            let bound = listener.local_addr().map_err(bind_error(&what, addr))?;
            addresses.syslog_tcp.insert(source.name.clone(), bound);
            let acceptor = Acceptor::configured(tls.as_ref(), Peer::SendOnly)?;
            listeners
                .tcp
                .push((index, listener, acceptor, *max_message_bytes));
        }
    }
    Ok((listeners, addresses))
}

fn bind_udp(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    let domain = socket2::Domain::for_address(addr);
    let socket = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    // Best effort: a larger buffer rides out bursts while a batch is being parsed.
    let _ = socket.set_recv_buffer_size(UDP_RECEIVE_BUFFER);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// Starts every listener's task; each stops when the shutdown signal is sent.
pub(crate) fn spawn_all(
    config: &ServeConfig,
    listeners: Listeners,
    shared: &Arc<Shared>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let Listeners {
        http,
        http_tls,
        mqtt_tls,
        api,
        udp,
        tcp,
        flows,
    } = listeners;
    let mut ingest = crate::http::ingest_router(Arc::clone(shared));
    if shared.scim.is_some() {
        ingest = ingest.merge(crate::scim::router(Arc::clone(shared)));
    }
    let router = if api.is_none() {
        ingest.merge(crate::http::api_router(Arc::clone(shared), false))
    } else {
        ingest
    };
    let router = crate::access::guarded(shared, router);
    tasks.push(tokio::spawn(crate::http::serve(
        http,
        http_tls,
        router,
        shared.connections("http"),
        shared.shutdown.clone(),
    )));
    if let Some(api) = api {
        tasks.push(tokio::spawn(crate::http::serve(
            api,
            Acceptor::Plain,
            crate::access::guarded(shared, crate::http::api_router(Arc::clone(shared), true)),
            shared.connections("api"),
            shared.shutdown.clone(),
        )));
    }
    for (index, socket, max) in udp {
        tasks.push(tokio::spawn(crate::syslog::udp(
            Arc::clone(shared),
            index,
            socket,
            max,
        )));
    }
    for (index, socket, limits) in flows {
        tasks.push(tokio::spawn(crate::flows::udp(
            Arc::clone(shared),
            index,
            socket,
            limits,
        )));
    }
    for (index, listener, acceptor, max) in tcp {
        tasks.push(tokio::spawn(crate::syslog::tcp(
            Arc::clone(shared),
            index,
            listener,
            acceptor,
            max,
        )));
    }
    let mqtt_routes: Vec<(String, usize)> = config
        .sources
        .iter()
        .enumerate()
        .flat_map(|(index, source)| match &source.transport {
            Transport::Mqtt { topics } => topics.iter().map(|t| (t.clone(), index)).collect(),
            _ => Vec::new(),
        })
        .collect();
    if let (Some(mqtt), false) = (&config.mqtt, mqtt_routes.is_empty()) {
        tasks.push(tokio::spawn(crate::mqtt::run(
            Arc::clone(shared),
            mqtt.clone(),
            mqtt_tls,
            mqtt_routes,
        )));
    }
    for (index, source) in config.sources.iter().enumerate() {
        if let Transport::Pull(settings) = &source.transport {
            tasks.push(tokio::spawn(crate::pull::run(
                Arc::clone(shared),
                index,
                settings.clone(),
                config.data_dir.clone(),
            )));
        }
        if let Transport::Directory {
            path,
            poll_ms,
            settle_ms,
        } = &source.transport
        {
            tasks.push(tokio::spawn(crate::watch::run(
                Arc::clone(shared),
                index,
                path.clone(),
                *poll_ms,
                *settle_ms,
            )));
        }
    }
    tasks
}

/// Resolves when the shutdown signal is sent (or its sender is gone).
pub(crate) async fn stopped(mut shutdown: tokio::sync::watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}
