# The action's image: one static binary in an empty image (a few MB, nothing else to patch).
#
# The binary is built outside the image, once per architecture, by
#   RUSTFLAGS="-C target-feature=+crt-static" cargo build --release --locked --target <arch>-unknown-linux-gnu
# on a native runner (see .github/workflows/release.yml, job `build`), and staged as
#   target/image/<TARGETARCH>/pypi-oidc-publish
# so the image holds exactly the bytes attached to the GitHub release, and building the image
# (including the multi-arch one: `docker buildx build --platform linux/amd64,linux/arm64 .`)
# runs no code and needs no base image. `scripts/build-image.sh` does all of it locally.
#
# TLS roots are compiled into the binary (reqwest's rustls with webpki-roots) and DNS is resolved
# in-process (hickory), so no CA bundle, /etc/nsswitch.conf or libc is needed at run time.
# No USER and no WORKDIR: GitHub runs container actions as root in /github/workspace.
# --chmod: workflow artifacts lose the executable bit between the build and image jobs.
FROM scratch
ARG TARGETARCH
COPY --chmod=0755 target/image/${TARGETARCH}/pypi-oidc-publish /pypi-oidc-publish
LABEL org.opencontainers.image.title="pypi-oidc-publish" \
      org.opencontainers.image.description="Verify Python dists, publish to PyPI with Trusted Publishing and PEP 740 attestations, create the GitHub release." \
      org.opencontainers.image.licenses="MIT"
ENTRYPOINT ["/pypi-oidc-publish"]
