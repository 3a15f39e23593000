#!/usr/bin/env python3
"""genesys-sim answers as Genesys Cloud does, as the official Python SDK reads it.

Usage: check-sim-sdk.py [PATH_TO_GENESYS_SIM]   (default: genesys-sim of the debug build, in the
target directory `cargo metadata` reports, so CARGO_TARGET_DIR is honoured)

Starts the simulator on a free port, records two ended conversations (one with two agents), and
asks for them with the SDK's own `ConversationsApi.post_analytics_conversations_details_query`,
a page at a time. The SDK deserialises every answer into its models
(`AnalyticsConversationQueryResponse`, `AnalyticsConversation`, `AnalyticsParticipant`,
`AnalyticsSession`, `AnalyticsSegment`); a value outside a field's documented set would come back
as `outdated_sdk_version`. Exits non-zero on any difference.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import PureCloudPlatformClientV2 as genesys
from PureCloudPlatformClientV2.rest import ApiException

AGENT = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
OTHER_AGENT = "0b6e2f7a-3c1d-4e9f-8a2b-5c6d7e8f9a0b"
CODE = "1ccb1c09-9495-4034-b377-b809f58d17da"


def default_binary() -> str:
    """genesys-sim in the debug build of the directory cargo builds into (scripts/target-dir.sh)."""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "target-dir.sh")
    target = subprocess.run([script], check=True, capture_output=True, text=True).stdout.strip()
    return os.path.join(target, "debug", "genesys-sim")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict, headers: dict | None = None) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def token(base: str) -> str:
    request = urllib.request.Request(
        f"{base}/oauth/token",
        data=b"grant_type=client_credentials",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": "Basic Y2NicmlkZ2UtZGV2OmNjYnJpZGdlLWRldi1zZWNyZXQ=",  # ccbridge-dev:ccbridge-dev-secret
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["access_token"]


def outdated(value, path="") -> list:
    """Fields the SDK could not read into its documented values."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += outdated(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += outdated(item, f"{path}[{index}]")
    elif value == "outdated_sdk_version":
        found.append(path)
    return found


def main(sim_binary: str) -> int:
    port = free_port()
    sim = subprocess.Popen([sim_binary, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/admin/calls", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        conversations = [
            ("00000000-0000-4000-8000-0000000000a1", "2026-11-20T09:00:00Z", "2026-11-20T09:05:00Z", [AGENT]),
            ("00000000-0000-4000-8000-0000000000a2", "2026-11-20T09:10:00Z", "2026-11-20T09:20:00Z", [AGENT, OTHER_AGENT]),
        ]
        for conversation_id, start, end, agents in conversations:
            post(
                f"{base}/admin/conversations",
                {
                    "conversationId": conversation_id,
                    "start": start,
                    "end": end,
                    "direction": "inbound",
                    "mediaType": "voice",
                    "ani": "tel:+420601123456",
                    "subject": "A question",
                    "agents": [{"userId": agent, "wrapupCode": CODE} for agent in agents],
                },
            )

        client = genesys.ApiClient(host=base)
        client.access_token = token(base)
        genesys.configuration.access_token = client.access_token
        api = genesys.ConversationsApi(client)
        found = []
        for page in (1, 2, 3):
            query = genesys.ConversationQuery()
            query.interval = "2026-11-20T00:00:00Z/2026-11-21T00:00:00Z"
            query.order = "asc"
            query.order_by = "conversationStart"
            query.paging = genesys.PagingSpec()
            query.paging.page_size = 1
            query.paging.page_number = page
            answer = api.post_analytics_conversations_details_query(query)
            if not isinstance(answer, genesys.AnalyticsConversationQueryResponse):
                print(f"page {page}: not an AnalyticsConversationQueryResponse: {type(answer)}")
                return 1
            wrong = outdated(answer.to_dict())
            if wrong:
                print(f"page {page}: values the SDK does not know at {wrong}")
                return 1
            if answer.total_hits != 2:
                print(f"page {page}: totalHits {answer.total_hits}, not 2")
                return 1
            found += answer.conversations or []
        ids = [c.conversation_id for c in found]
        if ids != [c[0] for c in conversations]:
            print(f"conversations {ids}")
            return 1
        two = found[1]
        purposes = [p.purpose for p in two.participants]
        if purposes != ["customer", "agent", "agent"]:
            print(f"purposes {purposes}")
            return 1
        for participant, agent in zip(two.participants[1:], [AGENT, OTHER_AGENT]):
            session = participant.sessions[0]
            wrapups = [s for s in session.segments if s.segment_type == "wrapup"]
            if participant.user_id != agent or session.media_type != "voice" or session.ani != "tel:+420601123456":
                print(f"agent participant {participant.to_dict()}")
                return 1
            if len(wrapups) != 1 or wrapups[0].wrap_up_code != CODE:
                print(f"wrap-up segments {[s.to_dict() for s in session.segments]}")
                return 1
        print(f"   the SDK read {len(found)} conversations over 3 pages of the sim's detail query, every value one it knows")
        return 0
    except ApiException as error:
        print(f"the SDK's call failed: {error.status} {error.body}")
        return 1
    finally:
        sim.terminate()
        sim.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else default_binary()))
