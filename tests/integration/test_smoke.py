def test_login_page_renders_in_chinese(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert "登录" in response.get_data(as_text=True)


def test_pages_need_login(client):
    assert client.get("/catalog").status_code == 302
    response = client.get("/api/v1/catalog/products")
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"


def test_catalog_page_for_signed_in_user(county, login):
    client = login(county.users["viewer"])
    assert client.get("/catalog").status_code == 200
