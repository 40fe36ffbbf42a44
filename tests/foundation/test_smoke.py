from httpx import AsyncClient

from tests.factories import Actors


async def test_me_returns_the_caller(client: AsyncClient, actors: Actors) -> None:
    admin = await actors.admin()
    response = await client.get("/api/v1/me", headers=admin.headers)
    assert response.status_code == 200, response.text
    assert response.json()["email"] == admin.email
