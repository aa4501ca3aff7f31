"""Image downloads: http(s) only, redirects followed by hand and checked hop by hop, no
loopback/private/link-local (cloud metadata) hosts unless the client's base URL is local."""

from __future__ import annotations

import ipaddress

import pytest

from components.api import errors as fe
from components.api.client import IMAGE_MAX_REDIRECTS, FluxClient, refused_address_kind
from components.api.contract import GenerationRequest
from samples import image_bytes, threaded_server

KEY = "sk-test-0123456789abcdefSECRET"
GEN = "/v1/images/generations"


@pytest.fixture
def other_server():
    """A second local server: a redirect target that must (or may) be reached."""
    yield from threaded_server()


def port_of(server) -> int:
    return server.port


def public_client(server, **kw) -> FluxClient:
    """A client that treats the fault server as the (public) provider and its CDN: images from
    other local addresses are refused, as they would be for https://api.aimlapi.com."""
    return FluxClient(
        api_key=KEY,
        base_url=server.url_for("").rstrip("/"),
        sleep=lambda s: None,
        connect_timeout=1,
        timeout=3,
        allow_local_images=False,
        trusted_image_hosts=(f"127.0.0.1:{port_of(server)}",),
        **kw,
    )


def local_client(server, **kw) -> FluxClient:
    return FluxClient(
        api_key=KEY, base_url=server.url_for("").rstrip("/"), sleep=lambda s: None, **kw
    )


def answer_with_redirect(server, location: str, status: int = 302) -> None:
    server.expect_request(GEN).respond_with_json({"images": [{"url": server.url_for("/cdn/r")}]})
    server.expect_request("/cdn/r").respond_with_data(
        "", status=status, headers={"Location": location}
    )


def generate_error(client) -> fe.ImageDownloadError:
    with pytest.raises(fe.ImageDownloadError) as info:
        client.generate(GenerationRequest("x"))
    return info.value


@pytest.mark.parametrize(
    ("location", "needle"),
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://169.254.10.20/x", "link-local"),
        ("http://[fe80::1]/x", "link-local"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata"),
        ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
        ("http://[::1]:9/x.jpg", "loopback"),
        ("http://[::ffff:127.0.0.1]:9/x.jpg", "loopback"),
        ("http://10.1.2.3/x.jpg", "private"),
        ("http://192.168.0.1/x.jpg", "private"),
        ("http://0.0.0.0:9/x.jpg", "unspecified"),
        ("http://224.0.0.1/x.jpg", "multicast"),
        ("http://240.0.0.1/x.jpg", "reserved"),
        ("http://100.64.0.1/x.jpg", "non-public"),
        ("http://2130706433:9/x.jpg", "loopback"),  # 127.0.0.1 written as one number
    ],
)
def test_redirects_to_non_public_addresses_are_refused(fault_server, location, needle):
    answer_with_redirect(fault_server, location)
    err = generate_error(public_client(fault_server))
    text = str(err)
    assert needle in text and "redirected to" in text and "refused" in text
    assert "could not connect" not in text.lower()


def test_a_redirect_to_another_loopback_port_is_refused_before_it_is_requested(
    fault_server, other_server
):
    other_server.expect_request("/x.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    answer_with_redirect(fault_server, other_server.url_for("/x.jpg"))
    err = generate_error(public_client(fault_server))
    assert "127.0.0.1, a loopback address" in str(err) and "refused" in str(err)
    assert other_server.log == []  # never requested


def test_a_redirect_through_localhost_is_refused(fault_server, other_server):
    answer_with_redirect(fault_server, f"http://localhost:{port_of(other_server)}/x.jpg")
    err = generate_error(public_client(fault_server))
    assert "loopback" in str(err) and other_server.log == []


@pytest.mark.parametrize(
    ("location", "scheme"),
    [
        ("file:///etc/passwd", "file:"),
        ("ftp://example.com/x.jpg", "ftp:"),
        ("gopher://example.com/", "gopher:"),
    ],
)
def test_redirects_to_other_schemes_are_refused_clearly(fault_server, location, scheme):
    answer_with_redirect(fault_server, location)
    for client in (public_client(fault_server), local_client(fault_server)):
        err = generate_error(client)
        text = str(err)
        assert f"redirected to a {scheme} link, refused" in text
        assert "could not connect" not in text.lower()
        assert client.base_url not in text


def test_a_link_that_points_at_loopback_is_refused_for_a_non_local_client(fault_server):
    fault_server.expect_request(GEN).respond_with_json(
        {"images": [{"url": fault_server.url_for("/cdn/x.jpg")}]}
    )
    client = FluxClient(
        api_key=KEY,
        base_url=fault_server.url_for("").rstrip("/"),
        sleep=lambda s: None,
        allow_local_images=False,
    )
    err = generate_error(client)
    assert "The image link points to 127.0.0.1, a loopback address" in str(err)
    assert [r.path for r, _ in fault_server.log] == [GEN]  # the image was never requested


def test_a_public_client_still_follows_redirects_on_its_trusted_host(fault_server):
    fault_server.expect_request(GEN).respond_with_json(
        {"images": [{"url": fault_server.url_for("/cdn/1")}]}
    )
    fault_server.expect_request("/cdn/1").respond_with_data(
        "",
        status=301,
        headers={"Location": "/cdn/2"},  # relative: resolved against the hop
    )
    fault_server.expect_request("/cdn/2").respond_with_data(
        "", status=307, headers={"Location": fault_server.url_for("/cdn/x.jpg")}
    )
    fault_server.expect_request("/cdn/x.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    result = public_client(fault_server).generate(GenerationRequest("x"))
    assert result.images[0].data[:2] == b"\xff\xd8"


def test_a_local_base_url_may_redirect_to_another_local_server(fault_server, other_server):
    other_server.expect_request("/x.jpg").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    answer_with_redirect(fault_server, other_server.url_for("/x.jpg"))
    client = local_client(fault_server)
    assert client.local_images_allowed
    result = client.generate(GenerationRequest("x"))
    assert len(result.images) == 1 and len(other_server.log) == 1
    assert "Authorization" not in other_server.log[0][0].headers


def test_redirects_are_limited_to_five_hops(fault_server):
    fault_server.expect_request(GEN).respond_with_json(
        {"images": [{"url": fault_server.url_for("/hop/0")}]}
    )
    for hop in range(IMAGE_MAX_REDIRECTS + 2):
        fault_server.expect_request(f"/hop/{hop}").respond_with_data(
            "", status=302, headers={"Location": f"/hop/{hop + 1}"}
        )
    err = generate_error(local_client(fault_server))
    assert f"more than {IMAGE_MAX_REDIRECTS} times" in str(err)
    hops = [r.path for r, _ in fault_server.log if r.path.startswith("/hop/")]
    assert len(hops) == IMAGE_MAX_REDIRECTS + 1


def test_five_hops_are_followed(fault_server):
    fault_server.expect_request(GEN).respond_with_json(
        {"images": [{"url": fault_server.url_for("/hop/0")}]}
    )
    for hop in range(IMAGE_MAX_REDIRECTS):
        fault_server.expect_request(f"/hop/{hop}").respond_with_data(
            "", status=302, headers={"Location": f"/hop/{hop + 1}"}
        )
    fault_server.expect_request(f"/hop/{IMAGE_MAX_REDIRECTS}").respond_with_data(
        image_bytes(), content_type="image/jpeg"
    )
    result = local_client(fault_server).generate(GenerationRequest("x"))
    assert len(result.images) == 1


def test_a_redirect_without_location_is_an_error(fault_server):
    fault_server.expect_request(GEN).respond_with_json(
        {"images": [{"url": fault_server.url_for("/cdn/r")}]}
    )
    fault_server.expect_request("/cdn/r").respond_with_data("", status=302)
    err = generate_error(local_client(fault_server))
    assert "without saying where" in str(err)


@pytest.mark.parametrize(
    ("base_url", "local"),
    [
        ("http://127.0.0.1:8787", True),
        ("http://127.1.2.3:8787", True),
        ("http://localhost:8787", True),
        ("http://[::1]:8787", True),
        ("https://api.aimlapi.com", False),
        ("", False),  # the default base URL
        ("http://10.0.0.5:8787", False),
        ("http://169.254.169.254", False),
    ],
)
def test_the_local_base_url_decision(base_url, local):
    assert FluxClient(base_url=base_url).local_images_allowed is local
    assert FluxClient(base_url=base_url, allow_local_images=True).local_images_allowed is True
    assert FluxClient(base_url=base_url, allow_local_images=False).local_images_allowed is False


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("8.8.8.8", None),
        ("93.184.216.34", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "cloud metadata (link-local)"),
        ("fd00:ec2::254", "cloud metadata (link-local)"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:a9fe:a9fe::1", "cloud metadata (link-local)"),  # 6to4 around 169.254.169.254
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 around 127.0.0.1
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("0.0.0.0", "unspecified"),
    ],
)
def test_refused_address_kinds(address, kind):
    assert refused_address_kind(ipaddress.ip_address(address)) == kind
