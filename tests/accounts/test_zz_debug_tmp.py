from tests.accounts import test_profile as tp
from tests.support import graphql

async def test_dbg(client, settings):
    token = await tp.sign_in(client)
    for inp in ({"name": None}, {"email": None}):
        print("BODY", await graphql(client, tp.UPDATE_PROFILE, {"input": inp}, token=token))
    print("BODY", await graphql(client, 'mutation { updateProfile(input: {name: null}) { errors { code } } }', token=token))
