from tests.conftest import login


def test_login_and_home(client, make_person, enterprise):
    p = make_person(enterprise, app_role="manager")
    login(client, p.user)
    r = client.get("/org/people")
    assert r.status_code == 200
    assert p.name in r.get_data(as_text=True)
