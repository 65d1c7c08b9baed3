"""brand.palette: the reseller's colour, made readable in the portal, light and dark."""
import pytest

import brand


@pytest.mark.parametrize("color", ["#2f6fde", "#ffd700", "#000000", "#ffffff", "#777777", "#e11d48", "#00ff00"])
def test_every_colour_of_the_palette_reads_at_4_5_to_1(color):
    p = brand.palette(color)
    assert brand.contrast(p["brand"], p["on-brand"]) >= 4.5
    assert all(brand.contrast(p["brand-text"], bg) >= 4.5 for bg in brand.LIGHT_BGS)
    assert all(brand.contrast(p["brand-text-dark"], bg) >= 4.5 for bg in brand.DARK_BGS)


def test_a_readable_colour_is_kept_and_a_bad_value_falls_back():
    assert brand.palette("#1D4ED8")["brand"] == "#1d4ed8"
    assert brand.palette("red")["brand"] == brand.DEFAULT
    assert brand.palette(None)["brand"] == brand.DEFAULT


def test_the_portal_pages_carry_the_resellers_colours(client, auth, world):
    world.a.reseller.brand_color = "#ffd700"
    from extensions import db
    db.session.commit()
    auth.login(world.a.staff.email)
    html = client.get("/companies").get_data(as_text=True)
    p = brand.palette("#ffd700")
    assert f'data-brand="{p["brand"]}"' in html and f'data-on-brand="{p["on-brand"]}"' in html
    assert f'data-brand-text="{p["brand-text"]}"' in html
