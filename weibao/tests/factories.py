"""Factories (one file, per the style guide) and the fixed persona world."""

from __future__ import annotations

from dataclasses import dataclass

import factory

from weibao.accounts.models import Agency, PartnerGrant, Role, User
from weibao.registry.models import Jurisdiction

COUNTY_A = "430405"  # 珠晖区
COUNTY_B = "430406"  # 雁峰区
CITY = "430400"  # 衡阳市
PASSWORD = "correct-horse-battery"


class AgencyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agency

    name = factory.Sequence(lambda n: f"机关{n}")
    name_en = factory.Sequence(lambda n: f"Agency {n}")
    kind = Agency.Kind.COUNTY_BUREAU
    jurisdiction = factory.LazyFunction(lambda: Jurisdiction.objects.get(code=COUNTY_A))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    full_name = factory.Sequence(lambda n: f"用户{n}")
    role = Role.COUNTY_REGULATOR
    agency = factory.SubFactory(AgencyFactory)

    @factory.post_generation
    def password(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        self.set_password(extracted or PASSWORD)
        if create:
            self.save()


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
    city_bureau = AgencyFactory(
        name="衡阳市公安局治安管理支队", kind=Agency.Kind.CITY_BUREAU, jurisdiction_id=CITY
    )
    county_a_bureau = AgencyFactory(name="珠晖分局", jurisdiction_id=COUNTY_A)
    county_b_bureau = AgencyFactory(name="雁峰分局", jurisdiction_id=COUNTY_B)
    partner = AgencyFactory(
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
        city=UserFactory(username="city", role=Role.CITY_REGULATOR, agency=city_bureau),
        county_a=UserFactory(username="county_a", agency=county_a_bureau),
        county_b=UserFactory(username="county_b", agency=county_b_bureau),
        partner_user=UserFactory(username="partner", role=Role.PARTNER_VIEWER, agency=partner),
        admin=UserFactory(
            username="admin",
            role=Role.SYSTEM_ADMIN,
            agency=None,
            is_superuser=True,
            is_staff=True,
        ),
    )
