"""Factories (one file, per the style guide) and the fixed persona world."""

from __future__ import annotations

from dataclasses import dataclass

from factory.declarations import LazyFunction, Sequence, SubFactory
from factory.django import DjangoModelFactory, Password

from weibao.accounts.models import Agency, PartnerGrant, Role, User
from weibao.registry.models import Jurisdiction

COUNTY_A = "430405"  # 珠晖区
COUNTY_B = "430406"  # 雁峰区
CITY = "430400"  # 衡阳市
PASSWORD = "correct-horse-battery"


class AgencyFactory(DjangoModelFactory[Agency]):
    class Meta:
        model = Agency

    name = Sequence(lambda n: f"机关{n}")
    name_en = Sequence(lambda n: f"Agency {n}")
    kind = Agency.Kind.COUNTY_BUREAU
    jurisdiction = LazyFunction(lambda: Jurisdiction.objects.get(code=COUNTY_A))


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User

    username = Sequence(lambda n: f"user{n}")
    full_name = Sequence(lambda n: f"用户{n}")
    role = Role.COUNTY_REGULATOR
    agency = SubFactory(AgencyFactory)
    password = Password(PASSWORD)


@dataclass
class World:
    city_bureau: Agency
    county_a_bureau: Agency
    county_b_bureau: Agency
    partner: Agency
    city: User
    county_a: User
    county_b: User
    partner_user: User
    admin: User


def build_world() -> World:
    city_bureau = AgencyFactory.create(
        name="衡阳市公安局治安管理支队", kind=Agency.Kind.CITY_BUREAU, jurisdiction_id=CITY
    )
    county_a_bureau = AgencyFactory.create(name="珠晖分局", jurisdiction_id=COUNTY_A)
    county_b_bureau = AgencyFactory.create(name="雁峰分局", jurisdiction_id=COUNTY_B)
    partner = AgencyFactory.create(
        name="衡阳市生态环境局", kind=Agency.Kind.ECOLOGY_ENVIRONMENT, jurisdiction_id=CITY
    )
    PartnerGrant.objects.create(
        agency=partner, resource=PartnerGrant.Resource.AGENCIES, jurisdiction_id=COUNTY_A
    )
    return World(
        city_bureau=city_bureau,
        county_a_bureau=county_a_bureau,
        county_b_bureau=county_b_bureau,
        partner=partner,
        city=UserFactory.create(username="city", role=Role.CITY_REGULATOR, agency=city_bureau),
        county_a=UserFactory.create(username="county_a", agency=county_a_bureau),
        county_b=UserFactory.create(username="county_b", agency=county_b_bureau),
        partner_user=UserFactory.create(
            username="partner", role=Role.PARTNER_VIEWER, agency=partner
        ),
        admin=UserFactory.create(
            username="admin",
            role=Role.SYSTEM_ADMIN,
            agency=None,
            is_superuser=True,
            is_staff=True,
        ),
    )
