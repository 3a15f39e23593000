#!/usr/bin/env python3
"""genesys-sim answers as Genesys Cloud does, as the official Python SDK reads it.

Usage: check-sim-sdk.py [PATH_TO_GENESYS_SIM]   (default: genesys-sim of the debug build, in the
target directory `cargo metadata` reports, so CARGO_TARGET_DIR is honoured)

Starts the simulator on a free port, records two ended conversations (one with two agents), and
asks for them with the SDK's own `ConversationsApi.post_analytics_conversations_details_query`,
a page at a time. The SDK deserialises every answer into its models
(`AnalyticsConversationQueryResponse`, `AnalyticsConversation`, `AnalyticsParticipant`,
`AnalyticsSession`, `AnalyticsSegment`); a value outside a field's documented set would come back
as `outdated_sdk_version`; and every key of the raw answers must be one the SDK's model knows (the
SDK drops an unknown key silently), one conversation carrying the customer's participant data, read
with `ConversationsApi.get_conversation` (`Conversation.participants[].attributes`).

Then a conversation's content, as genesys-gateway reads it: a voice conversation's details by id
(`AnalyticsApi.get_analytics_conversation_details`: `AnalyticsConversationWithoutAttributes`), its
customer's transcript URL (`SpeechTextAnalyticsApi.
get_speechandtextanalytics_conversation_communication_transcripturl`: `TranscriptUrl`), the
transcript file at that URL (no SDK model: checked against its documented schema, see
`check_transcript_file`), and an e-mail conversation's messages
(`ConversationsApi.get_conversations_email_messages`: `EmailMessagePreviewListing`,
`get_conversations_email_message`: `EmailMessage`; a longer thread's listing paged 25 a page, its
`nextUri` read raw). Exits non-zero on any difference.
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


WITH_PARTICIPANT_DATA = "00000000-0000-4000-8000-0000000000a2"
BANK_CUSTOMER_ID = "4f1e2d3c-5b6a-4978-8a9b-0c1d2e3f4a5b"
VOICE = "00000000-0000-4000-8000-0000000000b1"
EMAIL = "00000000-0000-4000-8000-0000000000b2"
LONG_EMAIL = "00000000-0000-4000-8000-0000000000b3"


def record(base: str, conversation_id: str, media_type: str, ani: str) -> None:
    post(
        f"{base}/admin/conversations",
        {
            "conversationId": conversation_id,
            "start": "2026-11-21T09:00:00Z",
            "end": "2026-11-21T09:05:00Z",
            "direction": "inbound",
            "mediaType": media_type,
            "ani": ani,
            "subject": "My card",
            "agents": [{"userId": AGENT, "wrapupCode": CODE}],
        },
    )


def check_transcript_file(document, conversation_id: str, communication_id: str) -> list:
    """What differs from the transcript file's documented format. The file is no SDK model: its
    format is documented as "Transcript schema" on developer.genesys.cloud, Analytics data
    management > Speech and text analytics > Transcript URL
    (https://developer.genesys.cloud/analyticsdatamanagement/speechtextanalytics/transcript-url):
    the communication's metadata (organizationId, conversationId, communicationId, mediaType,
    conversationStartTime, startTime in epoch ms, duration {milliseconds}), its transcripts (each
    with transcriptId, language, phrases and analytics) and participants; a phrase has text,
    participantPurpose (internal: the organisation's side, external: the customer), startTimeMs,
    duration {milliseconds}, words (word, confidence, startTimeMs, duration)."""
    wrong = []

    def expect(ok: bool, what: str) -> None:
        if not ok:
            wrong.append(what)

    def millis(value) -> bool:
        return isinstance(value, dict) and isinstance(value.get("milliseconds"), int)

    expect(isinstance(document, dict), "the file is a JSON object")
    if wrong:
        return wrong
    expect(document.get("conversationId") == conversation_id, "conversationId is the conversation's")
    expect(document.get("communicationId") == communication_id, "communicationId is the communication's")
    for field in ("organizationId", "mediaType"):
        expect(isinstance(document.get(field), str), f"{field} is text")
    for field in ("conversationStartTime", "startTime"):
        expect(isinstance(document.get(field), int), f"{field} is epoch milliseconds")
    expect(millis(document.get("duration")), "duration is {milliseconds}")
    expect(isinstance(document.get("participants"), list), "participants is a list")
    transcripts = document.get("transcripts")
    expect(isinstance(transcripts, list) and len(transcripts) > 0, "transcripts is a non-empty list")
    for t, transcript in enumerate(transcripts or []):
        for field in ("transcriptId", "language"):
            expect(isinstance(transcript.get(field), str), f"transcripts[{t}].{field} is text")
        expect(isinstance(transcript.get("analytics"), dict), f"transcripts[{t}].analytics is an object")
        for p, phrase in enumerate(transcript.get("phrases") or []):
            at = f"transcripts[{t}].phrases[{p}]"
            expect(isinstance(phrase.get("text"), str), f"{at}.text is text")
            expect(phrase.get("participantPurpose") in ("internal", "external"), f"{at}.participantPurpose is internal or external")
            expect(isinstance(phrase.get("startTimeMs"), int), f"{at}.startTimeMs is epoch milliseconds")
            expect(millis(phrase.get("duration")), f"{at}.duration is {{milliseconds}}")
            for w, word in enumerate(phrase.get("words") or []):
                expect(isinstance(word.get("word"), str) and isinstance(word.get("startTimeMs"), int), f"{at}.words[{w}]")
    return wrong


def check_participant_data(base: str, client) -> int:
    """The customer's participant data where Genesys has it: `GET /api/v2/conversations/{id}`
    (`Conversation.participants[].attributes`; the detail query's participants have none)."""
    path = f"/api/v2/conversations/{WITH_PARTICIPANT_DATA}"
    extra = unknown_keys(get_raw(base, client.access_token, path), "Conversation")
    if extra:
        print(f"{path}: keys Conversation does not know: {extra}")
        return 1
    conversation = genesys.ConversationsApi(client).get_conversation(WITH_PARTICIPANT_DATA)
    if not isinstance(conversation, genesys.Conversation) or outdated(conversation.to_dict()):
        print(f"conversation: {type(conversation)}, values the SDK does not know at {outdated(conversation.to_dict())}")
        return 1
    customers = [p for p in conversation.participants or [] if p.purpose == "customer"]
    if [c.attributes for c in customers] != [{"bankCustomerId": BANK_CUSTOMER_ID}]:
        print(f"the customer's attributes {[c.attributes for c in customers]}")
        return 1
    print("   the SDK read the sim's Conversation with the customer's participant data, every key and value one it knows")
    return 0


def check_content(base: str, client) -> int:
    """The sim's content endpoints, as the SDK (and, for the file, its documented format) reads them."""
    record(base, VOICE, "voice", "tel:+420601123456")
    post(
        f"{base}/admin/conversations/{VOICE}/transcript",
        {"phrases": [{"speaker": "customer", "text": "I lost my card"}, {"speaker": "agent", "text": "I have blocked it"}]},
    )
    bearer = client.access_token
    for path, model in [
        (f"/api/v2/analytics/conversations/{VOICE}/details", "AnalyticsConversationWithoutAttributes"),
    ]:
        extra = unknown_keys(get_raw(base, bearer, path), model)
        if extra:
            print(f"{path}: keys {model} does not know: {extra}")
            return 1
    details = genesys.AnalyticsApi(client).get_analytics_conversation_details(VOICE)
    if not isinstance(details, genesys.AnalyticsConversationWithoutAttributes) or outdated(details.to_dict()):
        print(f"conversation details: {type(details)}, values the SDK does not know at {outdated(details.to_dict())}")
        return 1
    customer = next(p for p in details.participants if p.purpose == "customer")
    communication_id = customer.sessions[0].session_id
    if details.conversation_id != VOICE or customer.sessions[0].media_type != "voice" or not communication_id:
        print(f"conversation details {details.to_dict()}")
        return 1
    located = genesys.SpeechTextAnalyticsApi(client).get_speechandtextanalytics_conversation_communication_transcripturl(
        VOICE, communication_id
    )
    extra = unknown_keys(
        get_raw(base, bearer, f"/api/v2/speechandtextanalytics/conversations/{VOICE}/communications/{communication_id}/transcripturl"),
        "TranscriptUrl",
    )
    if extra:
        print(f"transcripturl: keys TranscriptUrl does not know: {extra}")
        return 1
    if not isinstance(located, genesys.TranscriptUrl) or not (located.url or "").startswith(f"{base}/transcripts/"):
        print(f"transcript URL: {type(located)} {located.to_dict() if located else None}")
        return 1
    # Fetched as the gateway does: no Authorization header (the URL's signature is its credential).
    with urllib.request.urlopen(located.url, timeout=10) as response:
        document = json.loads(response.read())
    wrong = check_transcript_file(document, VOICE, communication_id)
    if wrong:
        print(f"the transcript file differs from its documented format: {wrong}")
        return 1

    record(base, EMAIL, "email", "client@example.com")
    post(
        f"{base}/admin/conversations/{EMAIL}/emails",
        {"messages": [{"from": "customer", "text": "I lost my card"}, {"from": "agent", "text": "Your card is blocked."}]},
    )
    conversations = genesys.ConversationsApi(client)
    listing = conversations.get_conversations_email_messages(EMAIL)
    if not isinstance(listing, genesys.EmailMessagePreviewListing) or outdated(listing.to_dict()) or len(listing.entities) != 2:
        print(f"e-mail listing: {type(listing)} {listing.to_dict() if listing else None}")
        return 1
    extra = unknown_keys(get_raw(base, bearer, f"/api/v2/conversations/emails/{EMAIL}/messages"), "EmailMessagePreviewListing")
    for preview in listing.entities:
        extra += unknown_keys(get_raw(base, bearer, f"/api/v2/conversations/emails/{EMAIL}/messages/{preview.id}"), "EmailMessage")
    if extra:
        print(f"e-mail messages: keys the SDK's models do not know: {extra}")
        return 1
    texts = []
    for preview in listing.entities:
        message = conversations.get_conversations_email_message(EMAIL, preview.id)
        if not isinstance(message, genesys.EmailMessage) or outdated(message.to_dict()) or message.time is None:
            print(f"e-mail message: {type(message)} {message.to_dict() if message else None}")
            return 1
        texts.append(message.text_body)
    if texts != ["I lost my card", "Your card is blocked."]:
        print(f"e-mail texts {texts}")
        return 1
    # A thread longer than a page: Genesys pages the listing (25 a page) and names the next by
    # nextUri, which genesys-gateway follows.
    record(base, LONG_EMAIL, "email", "client@example.com")
    post(
        f"{base}/admin/conversations/{LONG_EMAIL}/emails",
        {"messages": [{"from": "customer", "text": f"message {n}"} for n in range(1, 31)]},
    )
    first = conversations.get_conversations_email_messages(LONG_EMAIL)
    if (
        not isinstance(first, genesys.EmailMessagePreviewListing)
        or outdated(first.to_dict())
        or len(first.entities) != 25
        or first.page_count != 2
        or not first.next_uri
    ):
        print(f"first page of a long e-mail listing: {first.to_dict() if first else None}")
        return 1
    second = get_raw(base, bearer, first.next_uri)
    extra = unknown_keys(second, "EmailMessagePreviewListing")
    if extra or len(second.get("entities", [])) != 5 or "nextUri" in second or second.get("pageNumber") != 2:
        print(f"second page of a long e-mail listing: unknown keys {extra}, {len(second.get('entities', []))} entities")
        return 1
    print(
        "   the SDK read the sim's conversation details, TranscriptUrl, EmailMessagePreviewListing and "
        "EmailMessages, every key and value one it knows; the transcript file fits its documented schema; "
        "a 30-message listing pages as 25 + 5 by nextUri"
    )
    return 0


def unknown_keys(value, type_name: str, path: str = "") -> list:
    """Keys of a raw answer its SDK model does not know (the SDK drops them silently when it reads
    the answer, so they would pass unseen): walks the model's `attribute_map` and `swagger_types`."""
    if type_name.startswith("list["):
        return [key for n, item in enumerate(value or []) for key in unknown_keys(item, type_name[5:-1], f"{path}[{n}]")]
    model = getattr(genesys, type_name, None)
    if model is None or not isinstance(value, dict):
        return []
    instance = model()
    by_json = {json_name: attribute for attribute, json_name in instance.attribute_map.items()}
    found = []
    for key, item in value.items():
        if key not in by_json:
            found.append(f"{path}.{key}")
        else:
            found += unknown_keys(item, instance.swagger_types[by_json[key]], f"{path}.{key}")
    return found


def get_raw(base: str, bearer: str, path: str):
    request = urllib.request.Request(f"{base}{path}", headers={"Authorization": f"Bearer {bearer}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


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
        for n, (conversation_id, start, end, agents) in enumerate(conversations):
            recorded = {
                "conversationId": conversation_id,
                "start": start,
                "end": end,
                "direction": "inbound",
                "mediaType": "voice",
                "ani": "tel:+420601123456",
                "subject": "A question",
                "agents": [{"userId": agent, "wrapupCode": CODE} for agent in agents],
            }
            if n == 1:
                # The customer's participant data, as an IVR leaves it.
                recorded["participantData"] = {"bankCustomerId": BANK_CUSTOMER_ID}
            post(f"{base}/admin/conversations", recorded)

        client = genesys.ApiClient(host=base)
        client.access_token = token(base)
        genesys.configuration.access_token = client.access_token
        api = genesys.ConversationsApi(client)
        # Every key of a raw page must be one the SDK's models know.
        raw_page = json.loads(
            urllib.request.urlopen(
                urllib.request.Request(
                    f"{base}/api/v2/analytics/conversations/details/query",
                    data=json.dumps({"interval": "2026-11-20T00:00:00Z/2026-11-21T00:00:00Z", "paging": {"pageSize": 100, "pageNumber": 1}}).encode(),
                    headers={"Content-Type": "application/json", "Authorization": f"Bearer {client.access_token}"},
                ),
                timeout=10,
            ).read()
        )
        extra = unknown_keys(raw_page, "AnalyticsConversationQueryResponse")
        if extra:
            print(f"detail query: keys AnalyticsConversationQueryResponse does not know: {extra}")
            return 1
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
        print(f"   the SDK read {len(found)} conversations over 3 pages of the sim's detail query (one with participant data), every key and value one it knows")
        return check_participant_data(base, client) or check_content(base, client)
    except ApiException as error:
        print(f"the SDK's call failed: {error.status} {error.body}")
        return 1
    finally:
        sim.terminate()
        sim.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else default_binary()))
