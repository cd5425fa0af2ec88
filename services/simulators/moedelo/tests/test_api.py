"""The API's shapes, validation and account isolation."""

from __future__ import annotations

from services.simulators.moedelo import Simulator
from services.simulators.moedelo.testing import new_account

from .conftest import Client

GOODS = "/stock/api/v1/good"
REPORTS = "/accounting/api/v1/sales/retailreport"


def revenue_path(cashier_id: int) -> str:
    return f"/accounting/api/v1/cashier/{cashier_id}/retailRevenue"


def test_an_unknown_or_revoked_key_is_a_401_and_a_restored_one_works(
    sim: Simulator, account
) -> None:
    client, _ = account
    assert Client(sim.url, "no-such-key").call("GET", GOODS).status_code == 401
    answer = Client(sim.url, "").call("GET", GOODS)
    assert answer.status_code == 401
    assert answer.json() == {"Message": "Authorization has been denied for this request."}

    sim.set_revoked(client.token, True)
    assert client.call("GET", "/requisites/api/v1/requisites").status_code == 401
    sim.set_revoked(client.token, False)
    assert client.call("GET", "/requisites/api/v1/requisites").json()["ShortName"]


def test_goods_are_listed_in_pages_and_can_be_created_changed_and_deleted(account) -> None:
    client, _ = account
    first = client.call("GET", GOODS, pageNo=1, pageSize=1).json()
    assert first["TotalCount"] == 2 and first["PageNo"] == 1 and first["PageSize"] == 1
    assert [good["Name"] for good in first["ResourceList"]] == ["Кофе"]
    assert client.call("GET", GOODS, pageNo=3, pageSize=1).json()["ResourceList"] == []

    created = client.call("POST", GOODS, {"Name": "Круассан", "SalePrice": 95.5, "Nds": 10})
    assert created.status_code == 201
    good = created.json()
    assert good["Nds"] == "10" and good["SalePrice"] == 95.5 and good["UnitOfMeasurement"] == "шт"
    changed = client.call(
        "PUT", f"{GOODS}/{good['Id']}", {**good, "SalePrice": 99, "IsArchived": True}
    )
    assert changed.json()["SalePrice"] == 99 and changed.json()["IsArchived"] is True
    assert client.call("GET", f"{GOODS}/{good['Id']}").json()["SalePrice"] == 99
    assert client.call("DELETE", f"{GOODS}/{good['Id']}").status_code == 200
    assert client.call("GET", f"{GOODS}/{good['Id']}").status_code == 404
    assert client.call("GET", GOODS, name="ча").json()["TotalCount"] == 1


def test_a_bad_good_or_bad_paging_is_a_400_naming_each_field(account) -> None:
    client, _ = account
    answer = client.call("POST", GOODS, {"Name": " ", "SalePrice": -1, "Nds": "18"})
    assert answer.status_code == 400
    state = answer.json()["ModelState"]
    assert set(state) == {"model.Name", "model.SalePrice", "model.Nds"}
    assert client.call("GET", GOODS, pageSize=0).status_code == 400
    assert client.call("GET", GOODS, pageSize=5001).status_code == 400
    assert client.call("POST", GOODS, data=None).status_code == 400


def test_accounts_see_only_their_own_objects(sim: Simulator, account) -> None:
    client, ids = account
    other_token, _ = new_account(sim, goods=[{"Name": "Чужой", "SalePrice": 1}])
    other = Client(sim.url, other_token)
    assert [g["Name"] for g in other.call("GET", GOODS).json()["ResourceList"]] == ["Чужой"]
    assert other.call("GET", f"{GOODS}/{ids['goods'][0]}").status_code == 404
    assert other.call("GET", f"/stock/api/v1/stock/{ids['stocks'][0]}").status_code == 404
    report = {"Number": "1", "DocDate": "2026-12-01", "StockId": ids["stocks"][0]}
    assert other.call("POST", REPORTS, report).status_code == 400
    assert (
        client.call("GET", "/requisites/api/v1/requisites").json()["Id"]
        != other.call("GET", "/requisites/api/v1/requisites").json()["Id"]
    )


def test_a_retail_report_links_the_cash_desks_takings_and_numbers_may_repeat(account) -> None:
    client, ids = account
    cashier, stock = ids["cashiers"][0], ids["stocks"][0]
    revenue = client.call(
        "POST",
        revenue_path(cashier),
        {"DocDate": "2026-12-01", "Sum": 660.5, "ZReportNumber": "S-1"},
    )
    assert revenue.status_code == 201
    report = {
        "Number": "S-1",
        "DocDate": "2026-12-01T00:00:00+03:00",
        "StockId": stock,
        "Items": [
            {"StockProductId": ids["goods"][0], "Count": 1, "Sum": 450},
            {"StockProductId": ids["goods"][1], "Count": 1, "Sum": 210.5},
        ],
        "ReasonRevenues": [{"CashierId": cashier, "RetailRevenueId": revenue.json()["Id"]}],
    }
    created = client.call("POST", REPORTS, report)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["Sum"] == 660.5 and body["DocDate"] == "2026-12-01T00:00:00"
    assert body["Items"][0]["Name"] == "Кофе"
    assert client.call("GET", f"{REPORTS}/{body['Id']}").json()["Number"] == "S-1"

    again = client.call("POST", REPORTS, {**report, "ReasonRevenues": []})
    assert again.status_code == 201  # MoeDelo takes a second document with the same number
    found = client.call("GET", REPORTS, number="S-1").json()
    assert found["TotalCount"] == 2
    assert set(found["ResourceList"][0]) == {"Id", "Number", "DocDate", "StockId", "Sum"}
    assert client.call("GET", REPORTS, number="S-2").json()["TotalCount"] == 0
    assert client.call("GET", REPORTS, afterDate="2026-12-02").json()["TotalCount"] == 0
    listed = client.call(
        "GET", revenue_path(cashier), afterDate="2026-12-01", beforeDate="2026-12-01"
    )
    assert listed.json()["ResourceList"][0]["ZReportNumber"] == "S-1"

    twice = client.call("POST", REPORTS, report)
    assert twice.status_code == 400  # one day's takings are in one report only
    assert "model.ReasonRevenues[0].RetailRevenueId" in twice.json()["ModelState"]
    linked = client.call("DELETE", f"{revenue_path(cashier)}/{revenue.json()['Id']}")
    assert linked.status_code == 400


def test_a_report_naming_unknown_objects_is_a_400_listing_every_problem(account) -> None:
    client, ids = account
    answer = client.call(
        "POST",
        REPORTS,
        {
            "Number": "",
            "DocDate": "01.12.2026",
            "StockId": 1,
            "Items": [{"StockProductId": 1, "Count": 0, "Sum": "x"}],
            "ReasonRevenues": [{"CashierId": ids["cashiers"][0], "RetailRevenueId": 1}],
        },
    )
    assert answer.status_code == 400
    assert answer.json()["Message"] == "The request is invalid."
    assert set(answer.json()["ModelState"]) == {
        "model.Number",
        "model.DocDate",
        "model.StockId",
        "model.Items[0].StockProductId",
        "model.Items[0].Count",
        "model.Items[0].Sum",
        "model.ReasonRevenues[0].RetailRevenueId",
    }
    assert client.call("GET", "/stock/api/v1/nothing").status_code == 404


def test_control_shows_an_accounts_documents_and_the_calls_made(sim: Simulator, account) -> None:
    client, ids = account
    client.call("GET", GOODS)
    client.call("GET", f"{GOODS}/{ids['goods'][0]}")
    state = sim.account_state(client.token)
    assert [g["Name"] for g in state["goods"]] == ["Кофе", "Чай"]
    assert state["goods"][1]["SalePrice"] == 210.5
    assert sim.control_state()["calls"] == {
        "GET /stock/api/v1/good": 1,
        "GET /stock/api/v1/good/{id}": 1,
    }
    sim.reset()
    assert sim.control_state()["accounts"] == []
