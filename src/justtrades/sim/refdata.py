"""Reference data the simulator lists: products, maturities and contracts from the instrument
table, and a plausible starting price for each root."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from decimal import Decimal

from justtrades.instruments import INSTRUMENTS, listed_contracts
from justtrades.sim.entities import Contract, ContractMaturity, Product

START_PRICES: dict[str, str] = {
    "ES": "6000",
    "MES": "6000",
    "NQ": "21000",
    "MNQ": "21000",
    "YM": "44000",
    "MYM": "44000",
    "RTY": "2400",
    "M2K": "2400",
    "CL": "70",
    "MCL": "70",
    "NG": "3.5",
    "GC": "2650",
    "MGC": "2650",
    "SI": "31",
    "SIL": "31",
    "HG": "4.2",
    "ZB": "118",
    "ZN": "110",
    "6E": "1.05",
}


MICROS = frozenset({"MES", "MNQ", "MYM", "M2K", "MCL", "MGC", "SIL"})


def build_refdata(
    today: date, new_id: Callable[[], int], per_root: int
) -> tuple[list[Product], list[ContractMaturity], list[Contract]]:
    products: list[Product] = []
    maturities: list[ContractMaturity] = []
    contracts: list[Contract] = []
    for spec in INSTRUMENTS.values():
        product = Product(
            id=new_id(),
            name=spec.root,
            description=spec.description,
            months=spec.months,
            valuePerPoint=spec.point_value,
            tickSize=spec.tick_size,
            priceFormat=-max(0, -spec.tick_size.normalize().as_tuple().exponent),  # type: ignore[operator]
            priceFormatType="Fractional" if spec.root in ("ZB", "ZN") else "Decimal",
            isMicro=spec.root in MICROS,
        )
        products.append(product)
        for i, c in enumerate(listed_contracts(spec, today, per_root)):
            m = ContractMaturity(
                id=new_id(),
                productId=product.id,
                expirationMonth=c.year * 100 + c.month,
                expirationDate=datetime.combine(c.last_trade_date, time(20, 0), tzinfo=UTC),
                isFront=i == 0,
            )
            maturities.append(m)
            contracts.append(
                Contract(
                    id=new_id(),
                    name=c.name,
                    contractMaturityId=m.id,
                    providerTickSize=spec.tick_size,
                    root=spec.root,
                )
            )
    return products, maturities, contracts


def start_price(root: str) -> Decimal:
    return Decimal(START_PRICES[root])
