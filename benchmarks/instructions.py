"""Count the work of N training batches: neurolab vs the hand-written NumPy loop, under callgrind.

Wall-clock time on a drifting virtual machine cannot resolve a few percent; instruction and
cache-miss counts are repeatable. Each command runs one side for N batches of 128 (the
reference MLP of train_speed.py, SGD momentum); subtract a run with N = 0 (start-up, imports,
loading MNIST) from a run with N = 40:

    for side in ref nl; do for n in 0 40; do
      OPENBLAS_NUM_THREADS=1 NEUROLAB_DATA=../shared/data/mnist valgrind --tool=callgrind \
        --cache-sim=yes --callgrind-out-file=cg.$side.$n .venv/bin/python benchmarks/instructions.py $side $n
    done; done
    callgrind_annotate cg.ref.40 | grep "PROGRAM TOTALS"     # Ir ... D1mr ...

The reference loop here is the NumPy worker of train_speed.py, condensed.
"""

import sys

import numpy as np

import neurolab as nl

(images, labels), _ = nl.datasets.load_mnist()
SIZES=[784,256,128,10]; B=128; f32=np.float32
rng=np.random.default_rng(0)
W=[(rng.standard_normal((SIZES[i+1],SIZES[i]),dtype=f32)*np.sqrt(2/SIZES[i])).astype(f32) for i in range(3)]
bs=[np.zeros(SIZES[i+1],f32) for i in range(3)]
params=W+bs; grads=[np.empty_like(p) for p in params]; vel=[np.zeros_like(p) for p in params]
x_u8=np.empty((B,784),np.uint8); y_u8=np.empty(B,np.uint8); x=np.empty((B,784),f32)
h1=np.empty((B,256),f32); h2=np.empty((B,128),f32); z3=np.empty((B,10),f32); g3=np.empty((B,10),f32); g2=np.empty((B,128),f32); g1=np.empty((B,256),f32)
m2=np.empty((B,128),bool); m1=np.empty((B,256),bool); rmax=np.empty((B,1),f32); rsum=np.empty((B,1),f32); rows=np.arange(B)
def ref(order):
    w1,w2,w3=W; b1,b2,b3=bs; dw1,dw2,dw3,db1,db2,db3=grads
    for start in range(0,len(order),B):
        idx=order[start:start+B]; m=len(idx)
        xb_u8,yb,xb=x_u8[:m],y_u8[:m],x[:m]; a1,a2,z,g,d2,d1=h1[:m],h2[:m],z3[:m],g3[:m],g2[:m],g1[:m]
        np.take(images,idx,axis=0,out=xb_u8,mode="clip"); np.take(labels,idx,out=yb,mode="clip")
        np.multiply(xb_u8,f32(1/255),out=xb,dtype=f32)
        np.matmul(xb,w1.T,out=a1); a1+=b1; np.maximum(a1,0,out=a1)
        np.matmul(a1,w2.T,out=a2); a2+=b2; np.maximum(a2,0,out=a2)
        np.matmul(a2,w3.T,out=z); z+=b3
        np.max(z,axis=1,keepdims=True,out=rmax[:m]); np.subtract(z,rmax[:m],out=g); picked=g[rows[:m],yb]
        np.exp(g,out=g); np.sum(g,axis=1,keepdims=True,out=rsum[:m]); ls=float(np.log(rsum[:m]).sum()-picked.sum())
        c=int(np.count_nonzero(z.argmax(axis=1)==yb)); np.divide(g,rsum[:m],out=g); g[rows[:m],yb]-=1; g*=f32(1/m)
        np.matmul(g.T,a2,out=dw3); np.sum(g,axis=0,out=db3); np.matmul(g,w3,out=d2); np.greater(a2,0,out=m2[:m]); np.multiply(d2,m2[:m],out=d2)
        np.matmul(d2.T,a1,out=dw2); np.sum(d2,axis=0,out=db2); np.matmul(d2,w2,out=d1); np.greater(a1,0,out=m1[:m]); np.multiply(d1,m1[:m],out=d1)
        np.matmul(d1.T,xb,out=dw1); np.sum(d1,axis=0,out=db1)
        for p,gr,v in zip(params,grads,vel):
            v*=f32(0.9); v+=gr; np.multiply(v,f32(0.05),out=gr); p-=gr
net = nl.NeuralNetwork(
    [nl.Rescale(1 / 255), nl.Dense(784, 256, rng=0), nl.Dense(256, 128, rng=1), nl.Dense(128, 10, "identity", rng=2)],
    "cross_entropy",
)
optimizer = nl.optim.SGD(lr=0.05, momentum=0.9)

if __name__ == "__main__":
    side, batches = sys.argv[1], int(sys.argv[2])
    count = batches * B
    if side == "ref":
        ref(np.random.default_rng(0).permutation(count))
    elif side == "nl":
        net.fit(images[:count], labels[:count], epochs=1, batch_size=B, optimizer=optimizer, rng=0, verbose=0)
    else:
        raise SystemExit("usage: instructions.py ref|nl BATCHES")
